"""Dedupe of WeChat's retries across processes: a claim on (tenant, dedupe key) in the cache (fast, a
shared wait) and in storage (the record that survives a cache outage or flush, written by group
commit: gateway.callbacks.journal), and the first reply kept so a retry gets the same bytes. A slow
storage write never holds a reply past the callback's deadline: it finishes in the background."""
from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Coroutine, Mapping, TypeVar

from gateway.cache import Cache, CacheError
from gateway.callbacks.journal import DUPLICATE, UNAVAILABLE, WON, DedupeJournal
from gateway.platform.clock import Clock
from gateway.storage import Storage, StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")

SUCCESS = b"success"
CLAIM_TTL = 60.0
REPLY_TTL = 300.0
DEDUPE_KEEP_SECONDS = 86400.0
# With the cache claim won, the storage row only records it: wait this long for it, then go on.
STORAGE_CLAIM_SECONDS = 1.0
# Without the cache the row is the only guard: it is waited for this long, then the call is answered
# `success` and handled once the row says it won (a frozen database never holds WeChat longer).
STORAGE_ONLY_CLAIM_SECONDS = 2.0
POLL_SECONDS = 0.1
__all__ = ["Background", "Claim", "DUPLICATE", "ReplyDedupe", "SUCCESS", "UNAVAILABLE", "WON", "dedupe_key", "within"]
POLL_READ_SECONDS = 0.5


class Background:
    """Tasks that outlive the request that started them: referenced until done (asyncio keeps only
    weak references), failures logged by type (messages may quote user data), awaited at shutdown."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, T], what: str) -> asyncio.Task[T]:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self.tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.warning("%s failed: %s", what, type(finished.exception()).__name__)

        task.add_done_callback(done)
        return task


async def within(task: "asyncio.Future[T]", seconds: float) -> T:
    """The task's result, or TimeoutError after `seconds` while the task keeps running (as
    wait_for(shield(task)) does, with one timer and one future instead of several per call)."""
    if task.done():
        return task.result()
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not waiter.done():
            waiter.set_result(None)

    timer = loop.call_later(max(0.0, seconds), wake)
    task.add_done_callback(wake)
    try:
        await waiter
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    if task.done():
        return task.result()
    raise asyncio.TimeoutError


def dedupe_key(message: Mapping[str, str]) -> str | None:
    """MsgId (MsgID in template reports) when present, else FromUserName + CreateTime + Event for events."""
    msg_id = message.get("MsgId") or message.get("MsgID")
    if msg_id:
        raw = f"id\x00{message.get('MsgType', '')}\x00{message.get('Event', '')}\x00{msg_id}"
    elif message.get("MsgType") == "event":
        raw = f"ev\x00{message.get('FromUserName', '')}\x00{message.get('CreateTime', '')}\x00{message.get('Event', '')}"
    else:
        return None
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """A retry (`reply` is the first call's answer), or this call's claim: `record` is the storage
    insert (WON, DUPLICATE or UNAVAILABLE when done); `pending` when the cache was down and storage
    has not said in time whether this call won."""
    reply: bytes | None = None
    record: "asyncio.Future[str] | None" = None
    pending: bool = False


class ReplyDedupe:
    def __init__(self, storage: Storage, cache: Cache, clock: Clock, background: Background) -> None:
        self.storage, self.cache, self.clock, self.background = storage, cache, clock, background
        self.journal = DedupeJournal(storage, clock)

    @staticmethod
    def _cache_key(tenant_id: int, key: str) -> str:
        return f"cb:{tenant_id}:{key}"

    async def claim(self, tenant_id: int, key: str, deadline: float) -> Claim:
        """Claim the message by `deadline` (loop time) at the latest."""
        ck = self._cache_key(tenant_id, key)
        cache_ok = True
        try:
            known = await self.cache.get(ck + ":reply")
            if known is not None:
                return Claim(reply=known.encode("utf-8"))
            if not await self.cache.set_if_absent(ck, "1", CLAIM_TTL):
                return Claim(reply=await self._wait(tenant_id, key, deadline))
        except CacheError:
            cache_ok = False
        record = self.journal.claim(tenant_id, key)
        limit = deadline - asyncio.get_running_loop().time()
        try:
            outcome = await within(record, min(limit, STORAGE_CLAIM_SECONDS if cache_ok else STORAGE_ONLY_CLAIM_SECONDS))
        except asyncio.TimeoutError:
            return Claim(record=record, pending=not cache_ok)
        if outcome == DUPLICATE:
            return Claim(reply=await self._wait(tenant_id, key, deadline))
        if outcome == UNAVAILABLE and not cache_ok:
            log.warning("callback dedupe unavailable (cache and storage down); handling without it")
        return Claim(record=record)

    async def store(self, tenant_id: int, key: str, reply: bytes, record: "asyncio.Future[str]") -> None:
        """Keep the reply for retries: in the cache now (retries look there first), in storage with a
        later batch once this call's claim row is in."""
        try:
            await self.cache.set(self._cache_key(tenant_id, key) + ":reply", reply.decode("utf-8"), REPLY_TTL)
        except CacheError:
            pass
        if record.done():  # the usual case: no task needed to wait for it
            if not record.cancelled() and record.result() == WON:
                self.journal.store_reply(tenant_id, key, reply)
            return
        self.background.spawn(self._store_row(tenant_id, key, reply, record), "callback reply store")

    async def _store_row(self, tenant_id: int, key: str, reply: bytes, record: "asyncio.Future[str]") -> None:
        if await record != WON:
            return  # no row of ours: another process's reply (or none) stays
        self.journal.store_reply(tenant_id, key, reply)

    async def stored_reply(self, tenant_id: int, key: str, seconds: float = 5.0) -> bytes | None:
        """The first reply, if stored yet; storage is given at most `seconds`."""
        try:
            known = await self.cache.get(self._cache_key(tenant_id, key) + ":reply")
            if known is not None:
                return known.encode("utf-8")
        except CacheError:
            pass
        try:
            return await within(self.background.spawn(self._read_row(tenant_id, key), "callback reply read"),
                                seconds)
        except asyncio.TimeoutError:
            return None

    async def _read_row(self, tenant_id: int, key: str) -> bytes | None:
        try:
            value = await self.storage.fetchval(
                "SELECT reply FROM callback_dedupe WHERE tenant_id = ? AND dedupe_key = ?", (tenant_id, key))
        except StorageError:
            return None
        return None if value is None else bytes(value)

    async def _wait(self, tenant_id: int, key: str, deadline: float) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            # Each look at storage is short: the first call's reply may reach the cache meanwhile.
            reply = await self.stored_reply(tenant_id, key, min(POLL_READ_SECONDS, deadline - loop.time()))
            if reply is not None:
                return reply
            if loop.time() + POLL_SECONDS >= deadline:
                return SUCCESS  # the first is still running (or died): never run a retry twice
            await asyncio.sleep(POLL_SECONDS)

    async def purge(self, older_than: float = DEDUPE_KEEP_SECONDS) -> int:
        result = await self.storage.execute("DELETE FROM callback_dedupe WHERE created_at < ?",
                                            (self.clock.now() - older_than,))
        return result.rowcount
