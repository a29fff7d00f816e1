"""Opens the cache named by `[cache] url`: memory://, redis://host:port/db or
redis+sentinel://sentinel1:26379,sentinel2:26379/<service>/<db> (Redis with Sentinel failover)."""
from __future__ import annotations

from gateway.cache.base import Cache, CacheError, Lease

__all__ = ["Cache", "CacheError", "Lease", "open_cache"]


def open_cache(url: str) -> Cache:
    if url.startswith("memory://"):
        from gateway.cache.memory import MemoryCache
        return MemoryCache()
    if url.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://")):
        from gateway.cache.redis import RedisCache
        return RedisCache(url)
    raise ValueError("[cache] url must be memory://, redis://… or redis+sentinel://…")
