"""Redis cache (redis.asyncio) with short timeouts and no hidden retries, so a dead Redis
fails a call in well under a second; pub/sub listeners reconnect by themselves."""
from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from gateway.cache.base import Cache, CacheError, Listener

log = logging.getLogger(__name__)

_DELETE_IF_EQUALS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
"""
_INCR_WITH_TTL = """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
return n
"""


def _split_prefix(url: str) -> tuple[str, str]:
    """`?prefix=gw1:` namespaces every key and channel, so several gateways can share a Redis."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    prefix = "".join(v for k, v in query if k == "prefix")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


SENTINEL_SCHEME = "redis+sentinel://"


def parse_sentinel_url(url: str) -> tuple[list[tuple[str, int]], str, int]:
    """redis+sentinel://host:26379,host2:26379/<service>/<db>: the sentinels, the service, the db."""
    parts = urlsplit(url)
    hosts = []
    for item in parts.netloc.split(","):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        hosts.append((host or "127.0.0.1", int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("a redis+sentinel:// URL names the service: redis+sentinel://host:26379/mymaster/0")
    return hosts, path[0], int(path[1]) if len(path) > 1 else 0


class RedisCache(Cache):
    """Redis, or with `redis+sentinel://` the primary that Sentinel names (found again after a failover)."""

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        url, self._prefix = _split_prefix(url)
        self._url = url
        self._timeout = timeout
        self._sentinel: Any = None
        if url.startswith(SENTINEL_SCHEME):
            hosts, self._service, self._db = parse_sentinel_url(url)
            self._sentinel = Sentinel(hosts, sentinel_kwargs={"socket_timeout": timeout,
                                                              "socket_connect_timeout": timeout})
            self._client: Any = self._sentinel_client()
        else:
            # A blocking pool: a burst beyond max_connections waits briefly for a free connection
            # instead of failing at once with "Too many connections".
            pool = aioredis.BlockingConnectionPool.from_url(
                url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout,
                retry_on_timeout=False, health_check_interval=30, max_connections=256, timeout=2)
            self._client = aioredis.Redis(connection_pool=pool, retry=None)
        self._tasks: list[asyncio.Task[None]] = []

    def _sentinel_client(self) -> Any:
        return self._sentinel.master_for(
            self._service, db=self._db, decode_responses=True, socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout, retry_on_timeout=False, retry=None)

    def _listener_client(self) -> Any:
        if self._sentinel is not None:
            return self._sentinel_client()
        return aioredis.Redis.from_url(self._url, decode_responses=True, socket_connect_timeout=1)

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self._client, method)(*args, **kwargs)
        except (RedisError, OSError) as exc:
            raise CacheError("cache unavailable") from exc

    async def get(self, key: str) -> str | None:
        return await self._call("get", self._prefix + key)  # type: ignore[no-any-return]

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        await self._call("set", self._prefix + key, value, px=None if ttl is None else max(1, int(ttl * 1000)))

    async def set_if_absent(self, key: str, value: str, ttl: float | None = None) -> bool:
        result = await self._call("set", self._prefix + key, value, nx=True,
                                  px=None if ttl is None else max(1, int(ttl * 1000)))
        return bool(result)

    async def delete(self, key: str) -> None:
        await self._call("delete", self._prefix + key)

    async def delete_if_equals(self, key: str, value: str) -> bool:
        return bool(await self._call("eval", _DELETE_IF_EQUALS, 1, self._prefix + key, value))

    async def incr(self, key: str, ttl: float) -> int:
        return int(await self._call("eval", _INCR_WITH_TTL, 1, self._prefix + key, max(1, int(ttl * 1000))))

    async def ttl(self, key: str) -> float | None:
        ms = await self._call("pttl", self._prefix + key)
        return None if ms is None or ms < 0 else ms / 1000.0

    async def publish(self, channel: str, message: str) -> None:
        await self._call("publish", self._prefix + channel, message)

    async def subscribe(self, channel: str, listener: Listener) -> None:
        self._tasks.append(asyncio.ensure_future(self._listen(channel, listener)))

    async def _listen(self, channel: str, listener: Listener) -> None:
        while True:
            pubsub = None
            try:
                client = self._listener_client()
                pubsub = client.pubsub()
                await pubsub.subscribe(self._prefix + channel)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message and message.get("type") == "message":
                        try:
                            await listener(message["data"])
                        except Exception:
                            log.exception("cache listener failed on %s", channel)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                await asyncio.sleep(1.0)
            finally:
                if pubsub is not None:
                    try:
                        await pubsub.aclose()
                    except Exception:
                        pass

    async def ping(self) -> None:
        await self._call("ping")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        try:
            await self._client.aclose()
        except (RedisError, OSError):
            pass
