"""The notification outbox in the database: due rows claimed with a lease (SKIP LOCKED on
MySQL), outcomes recorded only by the claim that still holds the row, expired leases due again."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from itertools import count

from gateway.platform.clock import Clock
from gateway.storage import Executor, Storage

CLAIM_SQL = ("SELECT id FROM outbox{hint} WHERE state = 'queued' AND next_at <= ?"
             " ORDER BY next_at, id LIMIT {limit}{lock}")


@dataclass
class Claimed:
    """One claimed notification with what the sender needs to know about it."""
    id: int
    owner: str
    tenant_id: int
    recipient_id: int
    attempts: int
    paced: bool
    login: str
    role: str
    active: bool
    doc_id: str
    doc_status: str
    values: dict[str, str]


def claim_sql(storage: Storage, limit: int) -> str:
    """The claim query; the index hint keeps the ORDER BY on the index (no filesort), which is
    what lets SKIP LOCKED workers take disjoint batches instead of locking every due row."""
    hint = " FORCE INDEX (outbox_due)" if storage.dialect == "mysql" else " INDEXED BY outbox_due"
    return CLAIM_SQL.format(hint=hint, limit=int(limit), lock=storage.skip_locked)


class Outbox:
    def __init__(self, storage: Storage, clock: Clock, lease_seconds: float) -> None:
        self.storage, self.clock, self.lease_seconds = storage, clock, lease_seconds
        self._process = secrets.token_hex(6)
        self._claims = count(1)

    # ---- writing (inside the caller's document transaction) ---------------------------------------
    async def enqueue(self, ex: Executor, tenant_id: int, recipient_id: int) -> None:
        """Queue (or queue again) the one outbox row of a recipient row."""
        now = self.clock.now()
        updated = await ex.execute(
            "UPDATE outbox SET state = 'queued', next_at = ?, lease_owner = NULL, attempts = 0, paced = 0,"
            " last_error = NULL, updated_at = ? WHERE recipient_id = ?", (now, now, recipient_id))
        if updated.rowcount == 0:
            await ex.execute(
                "INSERT INTO outbox (tenant_id, recipient_id, state, next_at, attempts, paced, created_at,"
                " updated_at) VALUES (?, ?, 'queued', ?, 0, 0, ?, ?)", (tenant_id, recipient_id, now, now, now))

    # ---- claiming -----------------------------------------------------------------------------------
    async def claim(self, limit: int) -> list[Claimed]:
        """Lease up to `limit` due rows to a new owner token; the rows are this claim's until
        `lease_seconds` pass, after which any worker may claim them again."""
        now = self.clock.now()
        owner = f"{self._process}:{next(self._claims)}"
        async with self.storage.transaction() as tx:
            rows = await tx.fetchall(claim_sql(self.storage, limit), (now,))
            ids = [r["id"] for r in rows]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            await tx.execute(
                f"UPDATE outbox SET next_at = ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?"
                f" WHERE id IN ({marks})", (now + self.lease_seconds, owner, now, *ids))
        details = await self.storage.fetchall(
            "SELECT o.id, o.tenant_id, o.recipient_id, o.attempts, o.paced, r.login, r.role, r.active,"
            " d.doc_id, d.status AS doc_status, d.type, d.title, d.summary, d.applicant, d.submitted_at"
            " FROM outbox o JOIN document_recipients r ON r.id = o.recipient_id"
            f" JOIN documents d ON d.id = r.document_id WHERE o.id IN ({marks}) AND o.lease_owner = ?",
            (*ids, owner))
        found = {r["id"] for r in details}
        for orphan in set(ids) - found:  # its recipient or document is gone: nothing to send
            await self.storage.execute("UPDATE outbox SET state = 'dead', lease_owner = NULL, last_error = ?"
                                       " WHERE id = ? AND lease_owner = ?", ("orphaned", orphan, owner))
        return [Claimed(
            id=r["id"], owner=owner, tenant_id=r["tenant_id"], recipient_id=r["recipient_id"],
            attempts=r["attempts"], paced=bool(r["paced"]), login=r["login"], role=r["role"],
            active=bool(r["active"]), doc_id=r["doc_id"], doc_status=r["doc_status"],
            values={"doc_id": r["doc_id"], "type": r["type"], "title": r["title"], "summary": r["summary"],
                    "applicant": r["applicant"], "submitted_at": r["submitted_at"]})
            for r in sorted(details, key=lambda r: r["id"])]

    async def next_due(self) -> float | None:
        value = await self.storage.fetchval("SELECT MIN(next_at) AS t FROM outbox WHERE state = 'queued'")
        return None if value is None else float(value)

    # ---- recording outcomes (each a no-op when the lease moved on to another claim) -------------
    async def mark_sent(self, item: Claimed, msgid: str) -> bool:
        return (await self.mark_sent_many([(item, msgid)]))[0]

    async def mark_sent_many(self, sent: list[tuple[Claimed, str]]) -> list[bool]:
        """Record several accepted sends in one transaction (one commit, not one per message)."""
        now = self.clock.now()
        results: list[bool] = []
        async with self.storage.transaction() as tx:
            for item, msgid in sent:
                ours = await self._finish(tx, item, "done", None, now)
                if ours:
                    await tx.execute("UPDATE document_recipients SET delivery = 'sent', msgid = ?, updated_at = ?"
                                     " WHERE id = ?", (msgid, now, item.recipient_id))
                results.append(ours)
        return results

    async def mark_final(self, item: Claimed, delivery: str | None, error: str | None,
                         state: str = "done") -> bool:
        """Stop for good; `delivery` (when given) is what the recipient row reports from now on."""
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            if not await self._finish(tx, item, state, error, now):
                return False
            if delivery is not None:
                await tx.execute("UPDATE document_recipients SET delivery = ?, updated_at = ? WHERE id = ?",
                                 (delivery[:190], now, item.recipient_id))
        return True

    async def _finish(self, ex: Executor, item: Claimed, state: str, error: str | None, now: float) -> bool:
        done = await ex.execute(
            "UPDATE outbox SET state = ?, lease_owner = NULL, last_error = ?, updated_at = ?"
            " WHERE id = ? AND lease_owner = ? AND state = 'queued'", (state, error, now, item.id, item.owner))
        return done.rowcount == 1

    async def retry(self, item: Claimed, at: float, error: str) -> bool:
        """A failed attempt: due again at `at` (the attempt stays counted)."""
        done = await self.storage.execute(
            "UPDATE outbox SET next_at = ?, lease_owner = NULL, paced = 0, last_error = ?, updated_at = ?"
            " WHERE id = ? AND lease_owner = ? AND state = 'queued'",
            (at, error[:500], self.clock.now(), item.id, item.owner))
        return done.rowcount == 1

    async def defer(self, item: Claimed, at: float, paced: bool) -> bool:
        """Not an attempt (pacing, a paused tenant, shutting down): due again at `at`, uncounted."""
        done = await self.storage.execute(
            "UPDATE outbox SET next_at = ?, lease_owner = NULL, paced = ?, attempts = attempts - 1,"
            " updated_at = ? WHERE id = ? AND lease_owner = ? AND state = 'queued'",
            (at, 1 if paced else 0, self.clock.now(), item.id, item.owner))
        return done.rowcount == 1

    async def pause_tenant(self, tenant_id: int, until: float) -> int:
        """Push every unleased due row of the tenant to `until` (WeChat's daily quota is spent)."""
        done = await self.storage.execute(
            "UPDATE outbox SET next_at = ?, paced = 0, updated_at = ? WHERE tenant_id = ? AND state = 'queued'"
            " AND lease_owner IS NULL AND next_at < ?", (until, self.clock.now(), tenant_id, until))
        return done.rowcount

    async def pull_forward(self, tenant_id: int, now: float) -> int:
        """Make every waiting row of the tenant due now (WeChat answers again after a busy spell); the
        rows are paced again, so the backlog goes out at the tenant's rate, not in one burst."""
        done = await self.storage.execute(
            "UPDATE outbox SET next_at = ?, paced = 0, updated_at = ? WHERE tenant_id = ? AND state = 'queued'"
            " AND lease_owner IS NULL AND next_at > ?", (now, now, tenant_id, now))
        return done.rowcount

    async def depth(self) -> dict[int, int]:
        rows = await self.storage.fetchall(
            "SELECT tenant_id, COUNT(*) AS n FROM outbox WHERE state = 'queued' GROUP BY tenant_id")
        return {int(r["tenant_id"]): int(r["n"]) for r in rows}
