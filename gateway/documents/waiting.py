"""Notifications that waited for a binding: when an account binds, each of its recipient rows still
`unbound` on an open document is queued once through the outbox, inside the bind's transaction."""
from __future__ import annotations

from gateway.documents.outbox import Outbox
from gateway.documents.recipients import Wakeup
from gateway.platform.clock import Clock
from gateway.platform.tenant import Tenant
from gateway.storage import Executor, Storage


class WaitingNotices:
    def __init__(self, storage: Storage, clock: Clock, outbox: Outbox, workers: Wakeup) -> None:
        self.storage, self.clock, self.outbox, self.workers = storage, clock, outbox, workers

    async def account_bound(self, ex: Executor, tenant: Tenant, account_id: int) -> int:
        """Queue every waiting notification of the account; returns how many were queued. The
        conditional UPDATE is the guard: of two binds racing for the same row, the second finds it
        queued already (a closed document's row is not touched; the sender would refuse it anyway)."""
        rows = await ex.fetchall(
            "SELECT r.id FROM document_recipients r JOIN documents d ON d.id = r.document_id"
            " WHERE r.tenant_id = ? AND r.account_id = ? AND r.active = 1 AND r.delivery = 'unbound'"
            " AND r.msgid IS NULL AND d.status = 'open' ORDER BY r.id", (tenant.id, account_id))
        now, queued = self.clock.now(), 0
        for row in rows:
            done = await ex.execute(
                "UPDATE document_recipients SET delivery = 'queued', updated_at = ?"
                " WHERE id = ? AND delivery = 'unbound' AND active = 1 AND msgid IS NULL", (now, row["id"]))
            if done.rowcount == 1:
                await self.outbox.enqueue(ex, tenant.id, int(row["id"]))
                queued += 1
        return queued

    async def release(self, tenant: Tenant, account_id: int) -> int:
        """The same in a transaction of its own (a document PUT that raced with a bind)."""
        async with self.storage.transaction() as tx:
            queued = await self.account_bound(tx, tenant, account_id)
        if queued:
            self.workers.wake()
        return queued

    async def after_bound(self, tenant: Tenant, account_id: int, queued: int) -> None:
        """Once the bind committed: look again, for a row a document PUT committed after the bind's
        own look (that PUT's own second look may have run before the bind committed), then wake
        the workers. With the PUT's look after its commit, one of the two always sees the other."""
        if await self.release(tenant, account_id) == 0 and queued:
            self.workers.wake()
