"""The tenant's event log (document.decision, document.commented, account.bound, account.unbound,
account.registered): written in the caller's transaction together with its webhook
delivery row, read back as the pull feed."""
from __future__ import annotations

import json
from typing import Any

from gateway.platform.clock import Clock, iso
from gateway.platform.pagination import Page, page_result
from gateway.storage import Executor, Storage
from gateway.platform.tenant import Tenant

EVENT_TYPES = ("document.decision", "account.bound", "account.unbound", "account.registered",
               "document.commented")


def event_id(row_id: int) -> str:
    return f"evt_{row_id}"


class EventLog:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def emit(self, tenant: Tenant, event_type: str, data: dict[str, Any],
                   ex: Executor | None = None) -> str:
        """Record an event; pass the open transaction so the event lands with the change it describes."""
        assert event_type in EVENT_TYPES, event_type
        now = self.clock.now()
        ex = ex or self.storage
        result = await ex.execute("INSERT INTO events (tenant_id, type, created_at, data) VALUES (?, ?, ?, ?)",
                                  (tenant.id, event_type, now, json.dumps(data, ensure_ascii=False)))
        assert result.lastrowid is not None
        if tenant.webapi_url:
            await ex.execute(
                "INSERT INTO webhook_deliveries (event_id, tenant_id, state, attempts, next_at, lease_until, first_at)"
                " VALUES (?, ?, 'pending', 0, ?, 0, ?)", (result.lastrowid, tenant.id, now, now))
        return event_id(result.lastrowid)

    @staticmethod
    def envelope(tenant_slug: str, row: dict[str, Any]) -> dict[str, Any]:
        """The JSON shape of an event, the same in the feed and in the webhook body."""
        return {"id": event_id(row["id"]), "type": row["type"], "tenant": tenant_slug,
                "created_at": iso(row["created_at"]), "data": json.loads(row["data"])}

    async def page(self, tenant: Tenant, page: Page) -> dict[str, Any]:
        rows = await self.storage.fetchall(
            "SELECT id, type, created_at, data FROM events WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?",
            (tenant.id, page.after_int(), page.limit + 1))
        return page_result([self.envelope(tenant.slug, r) for r in rows], page)

    async def get(self, tenant: Tenant, row_id: int) -> dict[str, Any] | None:
        row = await self.storage.fetchone(
            "SELECT id, type, created_at, data FROM events WHERE tenant_id = ? AND id = ?", (tenant.id, row_id))
        return None if row is None else self.envelope(tenant.slug, row)
