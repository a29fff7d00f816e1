"""Small facts the gateway learns about a tenant while it runs (a signed callback arrived,
a token was fetched, WeChat named an IP to whitelist, the last menu pushed), kept in storage
so every process and the onboarding checklist see them."""
from __future__ import annotations

import json
from typing import Any

from gateway.platform.clock import Clock
from gateway.storage import DuplicateKey, Storage

# Another process may have written a different value since; rewrite a fact at least this often.
REWRITE_SECONDS = 30.0


class TenantState:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock
        self._written: dict[tuple[int, str], tuple[str, float]] = {}

    async def set(self, tenant_id: int, name: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)
        now = self.clock.now()
        written = self._written.get((tenant_id, name))
        if written is not None and written[0] == text and now - written[1] < REWRITE_SECONDS:
            return  # stored by this process moments ago; spare the database a write per callback
        updated = await self.storage.execute(
            "UPDATE tenant_state SET value = ?, updated_at = ? WHERE tenant_id = ? AND name = ?",
            (text, now, tenant_id, name))
        if updated.rowcount == 0:
            try:
                # Only while the tenant exists: a send finishing just after its deletion leaves nothing.
                await self.storage.execute(
                    "INSERT INTO tenant_state (tenant_id, name, value, updated_at)"
                    " SELECT ?, ?, ?, ? FROM tenants WHERE id = ?", (tenant_id, name, text, now, tenant_id))
            except DuplicateKey:  # another process inserted it first; ours is as fresh
                await self.storage.execute(
                    "UPDATE tenant_state SET value = ?, updated_at = ? WHERE tenant_id = ? AND name = ?",
                    (text, now, tenant_id, name))
        self._written[(tenant_id, name)] = (text, now)

    async def get(self, tenant_id: int, name: str, default: Any = None) -> Any:
        row = await self.storage.fetchone(
            "SELECT value FROM tenant_state WHERE tenant_id = ? AND name = ?", (tenant_id, name))
        return default if row is None else json.loads(row["value"])

    async def all(self, tenant_id: int) -> dict[str, Any]:
        rows = await self.storage.fetchall("SELECT name, value FROM tenant_state WHERE tenant_id = ?",
                                           (tenant_id,))
        return {r["name"]: json.loads(r["value"]) for r in rows}

    def forget_local(self, tenant_id: int) -> None:
        """Drop this process's memory of a deleted tenant's facts (the rows go with the tenant)."""
        self._written = {k: v for k, v in self._written.items() if k[0] != tenant_id}
