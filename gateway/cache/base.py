"""The cache interface (tokens, dedupe keys, counters, leases, change notices) that the
in-process and Redis back ends both implement."""
from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from typing import Awaitable, Callable

Listener = Callable[[str], Awaitable[None]]


class CacheError(Exception):
    """The cache failed or could not be reached."""


class Lease:
    """A held lock: it expires by itself after its TTL; release() frees it only if still ours."""

    def __init__(self, cache: "Cache", key: str, owner: str) -> None:
        self.cache, self.key, self.owner = cache, key, owner

    async def release(self) -> bool:
        return await self.cache.delete_if_equals(self.key, self.owner)


class Cache(ABC):
    @abstractmethod
    async def get(self, key: str) -> str | None: ...

    @abstractmethod
    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    @abstractmethod
    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def delete_if_equals(self, key: str, value: str) -> bool: ...

    @abstractmethod
    async def incr(self, key: str, ttl: float) -> int:
        """Add one and return the new count; the TTL starts when the key is created."""

    @abstractmethod
    async def ttl(self, key: str) -> float | None:
        """Seconds left, or None for a missing key or one without expiry."""

    @abstractmethod
    async def publish(self, channel: str, message: str) -> None: ...

    @abstractmethod
    async def subscribe(self, channel: str, listener: Listener) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def acquire(self, name: str, ttl: float) -> Lease | None:
        """Try once to take the lease `name` for `ttl` seconds."""
        owner = secrets.token_hex(16)
        key = f"lock:{name}"
        if await self.set_if_absent(key, owner, ttl):
            return Lease(self, key, owner)
        return None
