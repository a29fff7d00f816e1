"""The tenant's audit log: logins, binds and unbinds with their reason, password changes,
decisions and admin changes, in two logs (mobile and system, see audit_kinds) that the tenant's
`logging` switches turn off, except security events, which are always written. Callers never
pass a password or token in `detail`."""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from gateway.platform.audit_kinds import is_security, log_of
from gateway.platform.clock import Clock, iso
from gateway.platform.pagination import Page, page_result
from gateway.storage import Executor, Storage

_FORBIDDEN_KEYS = {"password", "new_password", "old_password", "token", "app_secret", "api_key",
                   "encoding_aes_key", "webhook_secret", "session"}


Switches = Callable[[int], Mapping[str, bool] | None]


class AuditLog:
    def __init__(self, storage: Storage, clock: Clock, switches: Switches | None = None) -> None:
        """`switches`: a tenant's `logging` settings by tenant id (None: no such tenant, keep all)."""
        self.storage, self.clock, self.switches = storage, clock, switches

    def keeps(self, tenant_id: int, action: str, detail: Mapping[str, Any] | None) -> bool:
        switches = self.switches(tenant_id) if self.switches else None
        if switches is None or switches.get(log_of(action), True):
            return True
        return is_security(action, detail)

    async def record(self, tenant_id: int, actor: str, action: str, subject: str = "",
                     detail: dict[str, Any] | None = None, ex: Executor | None = None) -> None:
        if not self.keeps(tenant_id, action, detail):
            return
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
