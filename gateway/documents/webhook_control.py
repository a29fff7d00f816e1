"""A tenant's webhook deliveries as its administrator sees and steers them: the recent ones
(newest first, paged on the event id), redelivering one, and pausing / resuming the tenant's
deliveries. A paused tenant's deliveries are parked (state 'paused', not claimed again) by the
worker that claims them; resuming makes every parked one due at once."""
from __future__ import annotations

from typing import Callable

from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.errors import NotFound
from gateway.platform.tenant import Tenant
from gateway.storage import Row, Storage

PAGE_SIZE = 50
PAUSED = "webhooks_paused"  # a tenant_state row: present while the tenant's webhooks are paused


async def is_paused(storage: Storage, tenant_id: int) -> bool:
    return await storage.fetchval("SELECT COUNT(*) FROM tenant_state WHERE tenant_id = ? AND name = ?",
                                  (tenant_id, PAUSED)) > 0


async def park_if_paused(storage: Storage, event_id: int, tenant_id: int, attempts: int) -> bool:
    """Park a claimed delivery of a paused tenant (its claim is not counted as an attempt); False
    when the tenant is not paused (any more). One statement, so a resume cannot strand it."""
    result = await storage.execute(
        "UPDATE webhook_deliveries SET state = 'paused', attempts = attempts - 1, lease_until = 0"
        " WHERE event_id = ? AND attempts = ? AND state = 'pending'"
        " AND EXISTS (SELECT 1 FROM tenant_state WHERE tenant_id = ? AND name = ?)",
        (event_id, attempts, tenant_id, PAUSED))
    return bool(result.rowcount)


class WebhookControl:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, wake: Callable[[], None]) -> None:
        self.storage, self.clock, self.audit, self.wake = storage, clock, audit, wake

    async def page(self, tenant_id: int, before: int, size: int = PAGE_SIZE) -> tuple[list[Row], int | None]:
        """Deliveries newest first (event ids below `before`; 0 = from the newest) and the id to
        continue before (None on the last page)."""
        where, args = "w.tenant_id = ?", [tenant_id]
        if before > 0:
            where += " AND w.event_id < ?"
            args.append(before)
        rows = await self.storage.fetchall(
            "SELECT w.event_id, w.state, w.attempts, w.next_at, w.first_at, w.last_error, e.type"
            f" FROM webhook_deliveries w JOIN events e ON e.id = w.event_id WHERE {where}"
            " ORDER BY w.event_id DESC LIMIT ?", (*args, size + 1))
        more = len(rows) > size
        rows = rows[:size]
        return rows, (int(rows[-1]["event_id"]) if more and rows else None)

    async def redeliver(self, tenant: Tenant, event_id: int, actor: str) -> None:
        """Send one delivery again now, whatever its state (its give-up day starts again)."""
        now = self.clock.now()
        result = await self.storage.execute(
            "UPDATE webhook_deliveries SET state = 'pending', next_at = ?, first_at = ?, lease_until = 0"
            " WHERE tenant_id = ? AND event_id = ?", (now, now, tenant.id, event_id))
        if not result.rowcount:
            raise NotFound("no such webhook delivery")
        await self.audit.record(tenant.id, actor, "webhook.redelivered", tenant.slug, {"event_id": event_id})
        self.wake()

    async def pause(self, tenant: Tenant, actor: str) -> None:
        async with self.storage.transaction() as tx:
            if not await tx.fetchval("SELECT COUNT(*) FROM tenant_state WHERE tenant_id = ? AND name = ?",
                                     (tenant.id, PAUSED)):
                await tx.execute("INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                                 (tenant.id, PAUSED, "true", self.clock.now()))
                await self.audit.record(tenant.id, actor, "webhook.paused", tenant.slug, ex=tx)

    async def resume(self, tenant: Tenant, actor: str) -> None:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            removed = await tx.execute("DELETE FROM tenant_state WHERE tenant_id = ? AND name = ?",
                                       (tenant.id, PAUSED))
            await tx.execute("UPDATE webhook_deliveries SET state = 'pending', next_at = ? WHERE tenant_id = ?"
                             " AND state = 'paused'", (now, tenant.id))
            if removed.rowcount:
                await self.audit.record(tenant.id, actor, "webhook.resumed", tenant.slug, ex=tx)
        self.wake()
