"""Each account's last sign-in (password or WeChat), kept for the console's accounts page."""
from __future__ import annotations

from gateway.storage import Storage


async def note_sign_in(storage: Storage, tenant_id: int, account_id: int, at: float) -> None:
    if storage.dialect == "mysql":
        upsert = " ON DUPLICATE KEY UPDATE last_at = VALUES(last_at)"
    else:
        upsert = " ON CONFLICT (tenant_id, account_id) DO UPDATE SET last_at = excluded.last_at"
    await storage.execute("INSERT INTO account_sign_ins (tenant_id, account_id, last_at) VALUES (?, ?, ?)" + upsert,
                          (tenant_id, account_id, at))
