"""The cache interface on the current back end: TTLs, atomic counters, set-if-absent,
leases released only by their owner, publish/subscribe, and fast failure when Redis is down."""
from __future__ import annotations

import asyncio
import time

import pytest

from gateway.cache import CacheError, open_cache


def _cache(env):
    return open_cache(env.settings().cache.url)


async def test_get_set_ttl_and_delete(env):
    cache = _cache(env)
    try:
        assert await cache.get("k") is None
        await cache.set("k", "v")
        assert await cache.get("k") == "v" and await cache.ttl("k") is None
        await cache.set("t", "v", ttl=0.2)
        assert 0 < await cache.ttl("t") <= 0.2
        await asyncio.sleep(0.3)
        assert await cache.get("t") is None
        await cache.delete("k")
        assert await cache.get("k") is None
    finally:
        await cache.close()


async def test_incr_atomic_with_ttl(env):
    cache = _cache(env)
    try:
        counts = await asyncio.gather(*(cache.incr("n", ttl=5) for _ in range(50)))
        assert sorted(counts) == list(range(1, 51))
        assert 0 < await cache.ttl("n") <= 5
    finally:
        await cache.close()


async def test_set_if_absent_and_lease(env):
    cache = _cache(env)
    try:
        assert await cache.set_if_absent("once", "a", ttl=5)
        assert not await cache.set_if_absent("once", "b", ttl=5)
        assert await cache.get("once") == "a"
        lease = await cache.acquire("job", ttl=0.3)
        assert lease is not None
        assert await cache.acquire("job", ttl=0.3) is None
        await asyncio.sleep(0.4)  # the lease expired by itself; someone else takes it
        other = await cache.acquire("job", ttl=5)
        assert other is not None
        assert not await lease.release()  # the first owner cannot free the new owner's lease
        assert await cache.acquire("job", ttl=5) is None
        assert await other.release()
        assert await cache.acquire("job", ttl=5) is not None
    finally:
        await cache.close()


async def test_publish_subscribe(env):
    cache = _cache(env)
    got: list[str] = []

    async def listener(message: str) -> None:
        got.append(message)
    try:
        await cache.subscribe("chan", listener)
        for _ in range(40):
            await cache.publish("chan", "hello")
            await asyncio.sleep(0.05)
            if got:
                break
        assert "hello" in got
    finally:
        await cache.close()


async def test_dead_redis_fails_fast():
    cache = open_cache("redis://127.0.0.1:1/0")
    started = time.monotonic()
    with pytest.raises(CacheError):
        await cache.get("x")
    with pytest.raises(CacheError):
        await cache.incr("x", 1)
    assert time.monotonic() - started < 1.0
    await cache.close()


async def test_memory_cache_sweeps_expired_keys():
    from gateway.cache.memory import SWEEP_EVERY, MemoryCache
    now = [1000.0]
    cache = MemoryCache(clock=lambda: now[0])
    for i in range(SWEEP_EVERY - 1):
        await cache.set(f"state:{i}", "x", ttl=1)
    now[0] += 2
    await cache.set("fresh", "y", ttl=100)  # the write that triggers a sweep
    assert list(cache._data) == ["fresh"]
