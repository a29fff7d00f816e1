"""In-process cache for the embedded default (one process): dict with expiry times and
in-process publish/subscribe."""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from gateway.cache.base import Cache, Listener

SWEEP_EVERY = 1000


class MemoryCache(Cache):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float | None]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._writes = 0

    def _wrote(self) -> None:
        # Expired keys are otherwise dropped only when read again: sweep now and then so that
        # one-off keys (OAuth states, dedupe claims, counters) cannot pile up.
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            now = self._clock()
            for key in [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]:
                del self._data[key]

    def _live(self, key: str) -> tuple[str, float | None] | None:
        item = self._data.get(key)
        if item is not None and item[1] is not None and item[1] <= self._clock():
            del self._data[key]
            return None
        return item

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self._clock() + ttl

    async def get(self, key: str) -> str | None:
        item = self._live(key)
        return None if item is None else item[0]

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._data[key] = (value, self._expiry(ttl))
        self._wrote()

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._data[key] = (value, self._expiry(ttl))
        self._wrote()
        return True

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def delete_if_equals(self, key: str, value: str) -> bool:
        item = self._live(key)
        if item is not None and item[0] == value:
            del self._data[key]
            return True
        return False

    async def incr(self, key: str, ttl: float) -> int:
        item = self._live(key)
        if item is None:
            self._data[key] = ("1", self._expiry(ttl))
            self._wrote()
            return 1
        count = int(item[0]) + 1
        self._data[key] = (str(count), item[1])
        return count

    async def ttl(self, key: str) -> float | None:
        item = self._live(key)
        if item is None or item[1] is None:
            return None
        return max(0.0, item[1] - self._clock())

    async def publish(self, channel: str, message: str) -> None:
        for listener in list(self._listeners.get(channel, ())):
            asyncio.ensure_future(listener(message))

    async def subscribe(self, channel: str, listener: Listener) -> None:
        self._listeners.setdefault(channel, []).append(listener)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._listeners.clear()
