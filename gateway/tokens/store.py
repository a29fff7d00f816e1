"""Cached WeChat credentials (access_token, jsapi_ticket) shared by every process: one JSON record
per key, compare-and-delete, and a fetch that runs once for all processes under a cache lease."""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from gateway.cache import Cache, CacheError, Lease
from gateway.platform.clock import Clock
from gateway.platform.outages import OutageLog
from gateway.storage import StorageError
from gateway.tokens.vault import TokenVault
from gateway.wechat.api.client import NETWORK_ERRCODE
from gateway.wechat.api.errors import NetworkError

# A record is handed out only while it has more than this left, so no caller gets a token
# that expires on its way to WeChat.
EXPIRY_MARGIN = 60.0
POLL_MIN, POLL_MAX = 0.025, 0.05
# How long a process reuses a record without asking the cache: bursts of callers then cost one
# cache read, and a token replaced elsewhere is noticed within this time (or at its first 40001).
LOCAL_SECONDS = 5.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenRecord:
    value: str
    expires_at: float

    def left(self, now: float) -> float:
        return self.expires_at - now

    def usable(self, now: float) -> bool:
        return self.left(now) > EXPIRY_MARGIN

    def dump(self) -> str:
        return json.dumps({"token": self.value, "expires_at": self.expires_at})

    @classmethod
    def load(cls, raw: str | None) -> "TokenRecord | None":
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["token"]), float(data["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None


Fetch = Callable[[], Awaitable[TokenRecord]]


class TokenStore:
    """Records under `key`; `obtain` fetches at most once at a time across processes (a lease in the
    cache, or in storage through the vault while the cache is down)."""

    def __init__(self, cache: Cache, clock: Clock, lease_ttl: float = 10.0, vault: TokenVault | None = None) -> None:
        self.cache, self.clock, self.lease_ttl, self.vault = cache, clock, lease_ttl, vault
        self.outage = OutageLog(log, "token centre")
        self._inflight: dict[str, asyncio.Task[TokenRecord]] = {}
        self._local: dict[str, tuple[TokenRecord, float]] = {}  # key -> (record, monotonic time read)

    async def read(self, key: str) -> TokenRecord | None:
        record = TokenRecord.load(await self.cache.get(key))
        self._remember(key, record)
        return record

    def _remember(self, key: str, record: TokenRecord | None) -> None:
        if record is None:
            self._local.pop(key, None)
        else:
            self._local[key] = (record, time.monotonic())

    def _recent(self, key: str) -> TokenRecord | None:
        entry = self._local.get(key)
        if entry is None or time.monotonic() - entry[1] > LOCAL_SECONDS:
            return None
        return entry[0]

    async def write(self, key: str, record: TokenRecord) -> None:
        """Keep a fetched record: here, in the cache and in the vault. A back end that fails here must
        not throw away a token WeChat has just issued (a second fetch would invalidate it)."""
        self._remember(key, record)
        ttl = max(1.0, record.left(self.clock.now()) - EXPIRY_MARGIN)
        try:
            await self.cache.set(key, record.dump(), ttl)
        except CacheError as exc:
            self.outage.failed("cache", exc)
        if self.vault is not None:
            try:
                await self.vault.put(key, record.value, record.expires_at)
            except StorageError as exc:
                self.outage.failed("storage", exc)

    async def drop_if(self, key: str, value: str) -> bool:
        """Delete the record only while it still holds `value` (a newer token is kept)."""
        local = self._local.get(key)
        if local is not None and local[0].value == value:
            self._local.pop(key, None)
        dropped = False
        if self.vault is not None:
            try:
                dropped = await self.vault.drop_if(key, value)
            except StorageError as exc:
                self.outage.failed("storage", exc)
        try:
            raw = await self.cache.get(key)
            record = TokenRecord.load(raw)
            if raw is None or record is None or record.value != value:
                return dropped
            return await self.cache.delete_if_equals(key, raw) or dropped
        except CacheError as exc:
            self.outage.failed("cache", exc)
            return dropped

    def _fresh(self, record: TokenRecord | None, failed: str | None) -> bool:
        return record is not None and record.usable(self.clock.now()) and record.value != failed

    async def obtain(self, key: str, fetch: Fetch, failed: str | None = None) -> TokenRecord:
        """The cached record, else one fetched by whoever holds the lease (callers of this
        process share one lookup; other processes wait on the cache)."""
        record = self._recent(key)
        if self._fresh(record, failed):
            assert record is not None
            return record
        flight_key = f"{key}|{failed or ''}"
        task = self._inflight.get(flight_key)
        if task is None:
            task = asyncio.ensure_future(self._lookup(key, fetch, failed))
            self._inflight[flight_key] = task
            task.add_done_callback(lambda _: self._inflight.pop(flight_key, None))
        # shield: one caller giving up must not cancel the fetch the others wait for.
        return await asyncio.shield(task)

    async def _lookup(self, key: str, fetch: Fetch, failed: str | None) -> TokenRecord:
        try:
            record = await self._lookup_cached(key, fetch, failed)
        except CacheError as exc:
            self.outage.failed("cache", exc)
            return await self._lookup_stored(key, fetch, failed)
        self.outage.answered()
        return record

    async def _lookup_stored(self, key: str, fetch: Fetch, failed: str | None) -> TokenRecord:
        """Without the cache: the token this process holds while it lasts, else the vault's, else one
        fetched by whoever holds the vault's lease for `key` (the others wait for it there)."""
        local = self._local.get(key)
        if local is not None and self._fresh(local[0], failed):
            return local[0]
        if self.vault is None:
            raise NetworkError(NETWORK_ERRCODE, "the cache is down and no token is held")
        vault = self.vault
        return await self._fetch_once(key, fetch, failed, lambda: self._from_vault(key),
                                      lambda: _vault_lease(vault, key, self.lease_ttl), poll_factor=2.0)

    async def _from_vault(self, key: str) -> TokenRecord | None:
        assert self.vault is not None
        stored = await self.vault.get(key)
        record = None if stored is None else TokenRecord(*stored)
        if record is not None:
            self._remember(key, record)
        return record

    async def _lookup_cached(self, key: str, fetch: Fetch, failed: str | None) -> TokenRecord:
        return await self._fetch_once(key, fetch, failed, lambda: self.read(key),
                                      lambda: self.cache.acquire(key, self.lease_ttl))

    async def _fetch_once(self, key: str, fetch: Fetch, failed: str | None,
                          read: Callable[[], Awaitable[TokenRecord | None]],
                          acquire: Callable[[], Awaitable[Lease | None]], poll_factor: float = 1.0) -> TokenRecord:
        """The stored record if fresh; else whoever takes the lease fetches (checking again first)
        while the others poll the store until the record appears or the lease's time runs out."""
        record = await read()
        if self._fresh(record, failed):
            assert record is not None
            return record
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease_ttl + 1.0
        while True:
            lease = await acquire()
            if lease is not None:
                try:
                    record = await read()  # check again: another process may have just stored one
                    if self._fresh(record, failed):
                        assert record is not None
                        return record
                    record = await fetch()
                    await self.write(key, record)
                    return record
                finally:
                    await _release(lease)
            await asyncio.sleep(random.uniform(POLL_MIN, POLL_MAX) * poll_factor)
            record = await read()
            if self._fresh(record, failed):
                assert record is not None
                return record
            if loop.time() > deadline:
                raise NetworkError(NETWORK_ERRCODE, "timed out waiting for another process to fetch a token")

    async def refresh(self, key: str, fetch: Fetch, due: Callable[[TokenRecord | None], bool]) -> bool:
        """Fetch ahead of expiry if the record is still `due` once the lease is ours; a held lease
        means someone else is on it. True when this call fetched."""
        lease = await self.cache.acquire(key, self.lease_ttl)
        if lease is None:
            return False
        try:
            if not due(await self.read(key)):
                return False
            await self.write(key, await fetch())
            return True
        finally:
            await _release(lease)


class _VaultLease(Lease):
    """The vault's lease of one key, released like a cache lease."""

    def __init__(self, vault: TokenVault, key: str) -> None:  # no cache behind it: no Lease.__init__
        self.vault, self.key = vault, key

    async def release(self) -> bool:
        await self.vault.release(self.key)
        return True


async def _vault_lease(vault: TokenVault, key: str, seconds: float) -> Lease | None:
    return _VaultLease(vault, key) if await vault.take_lease(key, seconds) else None


async def _release(lease: Lease) -> None:
    """Free a lease; a cache error here must not hide a token just fetched (the lease expires by itself)."""
    try:
        await lease.release()
    except (CacheError, StorageError):
        log.warning("token lease not released (cache unavailable); it expires on its own")
