"""Group commit of the callback dedupe table: the claims (insert when absent) and the first replies
of every callback that arrives while one batch is being written go into the next batch, written
with one statement each for claims and replies (SQLite, MariaDB; on MySQL the claims go one by one
in one transaction). Under load that is two writes per batch of callbacks instead of two writes,
and two trips to the database, per callback."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from gateway.platform.clock import Clock
from gateway.storage import Storage, StorageError

log = logging.getLogger(__name__)

WON, DUPLICATE, UNAVAILABLE = "won", "duplicate", "unavailable"
# Rows per statement: 4 parameters a row stays far below SQLite's 32,766 and MySQL's 65,535.
CHUNK = 500


@dataclass
class _Batch:
    claims: list[tuple[int, str, "asyncio.Future[str]"]] = field(default_factory=list)
    replies: dict[tuple[int, str], bytes] = field(default_factory=dict)


class DedupeJournal:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock
        self._next = _Batch()
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # written so far (the tests and the benchmark read it)
        self._returning: bool | None = None

    def claim(self, tenant_id: int, key: str) -> "asyncio.Future[str]":
        """WON once this process's row for (tenant, key) is committed, DUPLICATE when a row was
        there already, UNAVAILABLE when storage failed."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._next.claims.append((tenant_id, key, future))
        self._wake()
        return future

    def store_reply(self, tenant_id: int, key: str, reply: bytes) -> None:
        """Keep the first reply of a claim this process won (written with the next batch)."""
        self._next.replies[(tenant_id, key)] = reply
        self._wake()

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_all())

    async def _write_all(self) -> None:
        await asyncio.sleep(0)  # let the callbacks already on the loop join this batch
        while self._next.claims or self._next.replies:
            batch, self._next = self._next, _Batch()
            self.batches += 1
            try:
                await self._write(batch)
            except StorageError as exc:
                log.warning("callback dedupe batch not written (%s): %d claims, %d replies",
                            type(exc).__name__, len(batch.claims), len(batch.replies))
                for _, _, future in batch.claims:
                    if not future.done():
                        future.set_result(UNAVAILABLE)
            except BaseException:
                for _, _, future in batch.claims:
                    if not future.done():
                        future.set_result(UNAVAILABLE)
                raise

    async def _write(self, batch: _Batch) -> None:
        now = self.clock.now()
        if batch.claims:
            if await self._can_return():
                await self._claim_returning(batch.claims, now)
            else:
                await self._claim_one_by_one(batch.claims, now)
        if batch.replies:
            rows = list(batch.replies.items())
            for start in range(0, len(rows), CHUNK):
                await self._upsert_replies(rows[start:start + CHUNK], now)

    async def _can_return(self) -> bool:
        """Whether one INSERT can say which rows it inserted (RETURNING): SQLite and MariaDB; MySQL
        has no RETURNING, so there each claim is its own statement in one transaction."""
        if self._returning is None:
            if self.storage.dialect == "sqlite":
                self._returning = True
            else:
                version = await self.storage.fetchval("SELECT VERSION()")
                self._returning = "mariadb" in str(version).lower()
        return self._returning

    async def _claim_returning(self, claims: list[tuple[int, str, "asyncio.Future[str]"]], now: float) -> None:
        for start in range(0, len(claims), CHUNK):
            chunk = claims[start:start + CHUNK]
            unique = list(dict.fromkeys((tenant_id, key) for tenant_id, key, _ in chunk))
            values = ", ".join(["(?, ?, NULL, ?)"] * len(unique))
            params = [v for tenant_id, key in unique for v in (tenant_id, key, now)]
            inserted = await self.storage.fetchall(
                f"{self.storage.insert_ignore} INTO callback_dedupe (tenant_id, dedupe_key, reply, created_at)"
                f" VALUES {values} RETURNING tenant_id, dedupe_key", params)
            won = {(int(row["tenant_id"]), str(row["dedupe_key"])) for row in inserted}
            for tenant_id, key, future in chunk:
                # A second claim of the same message in one batch is a duplicate of the first.
                future.set_result(WON if (tenant_id, key) in won else DUPLICATE)
                won.discard((tenant_id, key))

    async def _claim_one_by_one(self, claims: list[tuple[int, str, "asyncio.Future[str]"]], now: float) -> None:
        outcomes: list[str] = []
        async with self.storage.transaction() as tx:
            for tenant_id, key, _ in claims:
                result = await tx.execute(
                    f"{self.storage.insert_ignore} INTO callback_dedupe (tenant_id, dedupe_key, reply, created_at)"
                    " VALUES (?, ?, NULL, ?)", (tenant_id, key, now))
                outcomes.append(WON if result.rowcount == 1 else DUPLICATE)
        for (_, _, future), outcome in zip(claims, outcomes):
            future.set_result(outcome)

    async def _upsert_replies(self, rows: list[tuple[tuple[int, str], bytes]], now: float) -> None:
        values = ", ".join(["(?, ?, ?, ?)"] * len(rows))
        params = [v for (tenant_id, key), reply in rows for v in (tenant_id, key, reply, now)]
        if self.storage.dialect == "mysql":
            upsert = " ON DUPLICATE KEY UPDATE reply = VALUES(reply)"
        else:
            upsert = " ON CONFLICT (tenant_id, dedupe_key) DO UPDATE SET reply = excluded.reply"
        await self.storage.execute(
            f"INSERT INTO callback_dedupe (tenant_id, dedupe_key, reply, created_at) VALUES {values}{upsert}", params)

    @property
    def writing(self) -> "set[asyncio.Task[None]]":
        """The batch writer while it runs (a shutdown waits for it), else nothing."""
        return {self._writer} if self._writer is not None and not self._writer.done() else set()
