"""Who follows each tenant's service account: subscribe and unsubscribe events recorded per
(tenant, openid), so later features can tell a follower from someone who left."""
from __future__ import annotations

from gateway.platform.clock import Clock
from gateway.storage import Storage
from gateway.platform.tenant import Tenant


class FollowerStore:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def record(self, tenant: Tenant, openid: str, subscribed: bool) -> None:
        if not openid:
            return
        if self.storage.dialect == "mysql":
            upsert = " ON DUPLICATE KEY UPDATE subscribed = VALUES(subscribed), updated_at = VALUES(updated_at)"
        else:
            upsert = (" ON CONFLICT (tenant_id, openid) DO UPDATE SET subscribed = excluded.subscribed,"
                      " updated_at = excluded.updated_at")
        await self.storage.execute(
            "INSERT INTO followers (tenant_id, openid, subscribed, updated_at) VALUES (?, ?, ?, ?)" + upsert,
            (tenant.id, openid, 1 if subscribed else 0, self.clock.now()))

    async def is_subscribed(self, tenant: Tenant, openid: str) -> bool | None:
        """True or False as last recorded; None when no event of this openid has arrived."""
        row = await self.storage.fetchone(
            "SELECT subscribed FROM followers WHERE tenant_id = ? AND openid = ?", (tenant.id, openid))
        return None if row is None else bool(row["subscribed"])
