"""Reading a tenant's accounts: one account by login or id (with its active binding), the
JSON view of it, and the recipients of a document by login (account, status, bound openid)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.accounts.rules import normalise_login
from gateway.platform.clock import Clock, iso
from gateway.platform.errors import NotFound
from gateway.platform.tenant import Tenant
from gateway.storage import Executor, Row, Storage

_LOOKUP_CHUNK = 500
_SELECT = ("SELECT a.id, a.login, a.login_key, a.name, a.kind, a.position, a.status, a.password_hash,"
           " a.must_change_password, a.failed_count, a.failed_since, a.locked_until,"
           " b.id AS binding_id, b.openid AS bound_openid, b.created_at AS bound_at FROM accounts a"
           " LEFT JOIN bindings b ON b.tenant_id = a.tenant_id AND b.active_account = a.id")


@dataclass
class Recipient:
    login: str               # the account's own spelling when known, else the one asked for
    account_id: int | None
    status: str | None       # active | pending | departed; None = unknown login
    openid: str | None       # the active binding's openid
    name: str


def _recipient(row: Row) -> Recipient:
    return Recipient(login=str(row["login"]), account_id=int(row["id"]), status=str(row["status"]),
                     openid=row["bound_openid"], name=str(row["name"]))


class AccountDirectory:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock
    async def row(self, tenant: Tenant, login: str, ex: Executor | None = None) -> Row | None:
        return await (ex or self.storage).fetchone(
            f"{_SELECT} WHERE a.tenant_id = ? AND a.login_key = ?", (tenant.id, normalise_login(login)))

    async def row_by_id(self, tenant: Tenant, account_id: int, ex: Executor | None = None) -> Row | None:
        return await (ex or self.storage).fetchone(f"{_SELECT} WHERE a.tenant_id = ? AND a.id = ?",
                                                   (tenant.id, account_id))

    async def require_row(self, tenant: Tenant, login: str, ex: Executor | None = None) -> Row:
        row = await self.row(tenant, login, ex)
        if row is None:
            raise NotFound("no such account", {"login": login})
        return row

    async def lock_row(self, tx: Executor, tenant: Tenant, login: str) -> Row:
        found = await tx.fetchone(
            f"SELECT id FROM accounts WHERE tenant_id = ? AND login_key = ?{self.storage.for_update}",
            (tenant.id, normalise_login(login)))
        if found is None:
            raise NotFound("no such account", {"login": login})
        row = await self.row_by_id(tenant, found["id"], tx)
        assert row is not None
        return row

    def view_of(self, row: Row) -> dict[str, Any]:
        locked = row["locked_until"]
        return {"login": row["login"], "name": row["name"], "kind": row["kind"], "position": row["position"],
                "status": row["status"], "bound": row["binding_id"] is not None, "bound_at": iso(row["bound_at"]),
                "locked_until": iso(locked) if locked is not None and locked > self.clock.now() else None}

    async def view_by_id(self, ex: Executor, tenant: Tenant, account_id: int) -> dict[str, Any]:
        row = await self.row_by_id(tenant, account_id, ex)
        assert row is not None
        return self.view_of(row)

    async def view(self, tenant: Tenant, login: str) -> dict[str, Any]:
        return self.view_of(await self.require_row(tenant, login))

    async def recipient(self, tenant: Tenant, login: str) -> Recipient:
        return (await self.recipients(tenant, [login]))[login]

    async def recipients(self, tenant: Tenant, logins: list[str]) -> dict[str, Recipient]:
        """Each login (keyed as given) with its account and active binding; one query per 500."""
        keys = {login: normalise_login(login) for login in logins if isinstance(login, str)}
        unique = sorted(set(keys.values()))
        found: dict[str, Row] = {}
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[start:start + _LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in await self.storage.fetchall(
                    f"{_SELECT} WHERE a.tenant_id = ? AND a.login_key IN ({marks})", (tenant.id, *chunk)):
                found[row["login_key"]] = row
        result: dict[str, Recipient] = {}
        for login in logins:
            match = found.get(keys.get(login, ""))
            result[login] = _recipient(match) if match else Recipient(login, None, None, None, "")
        return result

    async def account_for_openid(self, tenant: Tenant, openid: str) -> Recipient | None:
        row = await self.storage.fetchone(
            f"{_SELECT} WHERE a.tenant_id = ? AND b.active_openid = ? AND a.status = 'active'", (tenant.id, openid))
        return _recipient(row) if row else None
