"""In-process cache for the embedded default (one process): dict with expiry times and
in-process publish/subscribe."""
from __future__ import annotations

import asyncio
import heapq
import time
from typing import Callable

from gateway.cache.base import Cache, Listener

SWEEP_EVERY = 1000  # writes after which every key that expired is gone (in fact: at each write)


class MemoryCache(Cache):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float | None]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._expiries: list[tuple[float, str]] = []  # a heap; entries of keys since rewritten are skipped

    def _wrote(self, key: str | None = None) -> None:
        # Expired keys are otherwise dropped only when read again: drop those at the heap's top at
        # each write, so one-off keys (OAuth states, dedupe claims, counters) cannot pile up, at
        # O(log n) a write rather than a scan of every key.
        if key is not None:
            expiry = self._data[key][1]
            if expiry is not None:
                heapq.heappush(self._expiries, (expiry, key))
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            expiry, old = heapq.heappop(self._expiries)
            item = self._data.get(old)
            if item is not None and item[1] == expiry:
                del self._data[old]

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
        self._wrote(key)

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        self._data[key] = (value, self._expiry(ttl))
        self._wrote(key)
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
            self._wrote(key)
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
