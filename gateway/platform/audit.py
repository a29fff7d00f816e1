"""The tenant's audit log: logins, binds and unbinds with their reason, password changes,
decisions and admin changes. Callers never pass a password or token in `detail`."""
from __future__ import annotations

import json
from typing import Any

from gateway.platform.clock import Clock, iso
from gateway.platform.pagination import Page, page_result
from gateway.storage import Executor, Storage

_FORBIDDEN_KEYS = {"password", "new_password", "old_password", "token", "app_secret", "api_key",
                   "encoding_aes_key", "webhook_secret", "session"}


class AuditLog:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def record(self, tenant_id: int, actor: str, action: str, subject: str = "",
                     detail: dict[str, Any] | None = None, ex: Executor | None = None) -> None:
        clean = {k: v for k, v in (detail or {}).items() if k not in _FORBIDDEN_KEYS}
        await (ex or self.storage).execute(
            "INSERT INTO audit (tenant_id, at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (tenant_id, self.clock.now(), actor, action, subject, json.dumps(clean, ensure_ascii=False)))

    async def page(self, tenant_id: int, page: Page) -> dict:
        rows = await self.storage.fetchall(
            "SELECT id, at, actor, action, subject, detail FROM audit WHERE tenant_id = ? AND id > ?"
            " ORDER BY id LIMIT ?", (tenant_id, page.after_int(), page.limit + 1))
        items = [{"id": r["id"], "at": iso(r["at"]), "actor": r["actor"], "action": r["action"],
                  "subject": r["subject"], "detail": json.loads(r["detail"])} for r in rows]
        return page_result(items, page)
