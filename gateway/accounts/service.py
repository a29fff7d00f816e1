"""Accounts of each tenant (employees, customers, suppliers): the tenant API's operations
(create, update, depart, unlock, unbind, approve, import) and the person's own (policy, me,
logout). Lookups live in directory.py, field rules in rules.py, sign-in in sign_in.py,
self-registration in registration.py."""
from __future__ import annotations

from typing import Any

from gateway.accounts.bindings import BindingStore
from gateway.accounts.directory import AccountDirectory
from gateway.accounts.importer import import_accounts
from gateway.accounts.login_limits import LoginLimiter
from gateway.accounts.password_policy import policy_description
from gateway.accounts.passwords import PasswordHasher, Requester
from gateway.accounts.refusals import forget_applicant, leave_refusal
from gateway.accounts.rules import (ACCOUNT_FIELDS, KINDS, check_new_password, hash_new_password, login_problem,
                                    normalise_login, password_policy, text_problem)
from gateway.accounts.sessions import Session
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.errors import Conflict, Invalid, NotFound
from gateway.platform.events import EventLog
from gateway.platform.tenant import Tenant
from gateway.storage import DuplicateKey, Executor, Row, Storage


def refuse_pending(row: Row) -> None:
    """A tenant's PUT never takes over a pending self-registration (its password is a stranger's)."""
    raise Conflict("this login is a pending self-registration: approve it (POST …/approve) or refuse it"
                   " (POST …/depart) first", {"login": row["login"], "status": "pending"})


class AccountService:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, events: EventLog,
                 directory: AccountDirectory, hasher: PasswordHasher, limits: LoginLimiter,
                 bindings: BindingStore) -> None:
        self.storage, self.clock, self.audit, self.events = storage, clock, audit, events
        self.directory, self.hasher, self.limits, self.bindings = directory, hasher, limits, bindings

    # ---- tenant API -------------------------------------------------------------------------
    async def put(self, tenant: Tenant, login: str, body: dict[str, Any], actor: str) -> tuple[dict[str, Any], bool]:
        """Create (True) or update (False) the account named `login` from a tenant API body."""
        unknown = sorted(str(k) for k in body if k not in ACCOUNT_FIELDS)
        if unknown:
            raise Invalid(f"unknown fields: {', '.join(unknown)}", {"fields": unknown})
        problem = login_problem(login)
        if problem:
            raise Invalid(problem, {"field": "login"})
        login = login.strip()
        existing = await self.directory.row(tenant, login)
        if existing is not None and existing["status"] == "pending":
            refuse_pending(existing)
        problems = [p for p in (
            text_problem("name", body.get("name"), required=existing is None or "name" in body),
            text_problem("position", body.get("position"), required=False),
            None if body.get("kind", "employee") in KINDS else f"kind must be one of {', '.join(KINDS)}",
            None if isinstance(body.get("active", True), bool) else "active must be true or false",
        ) if p]
        if problems:
            raise Invalid("; ".join(problems), {"problems": problems})
        name = (body.get("name") or (existing or {}).get("name") or "").strip()
        hashed = None
        if "password" in body:
            hashed = await hash_new_password(self.hasher, check_new_password(tenant, body["password"], login, name),
                                           Requester(str(tenant.id)))
        try:
            view = await self._write(tenant, login, body, existing, name, hashed, actor)
        except DuplicateKey:
            # A concurrent first PUT created it between our read and our insert: this one updates.
            if existing is not None:
                raise
            existing = await self.directory.require_row(tenant, login)
            view = await self._write(tenant, login, body, existing, name, hashed, actor)
        return view, existing is None

    async def _write(self, tenant: Tenant, login: str, body: dict[str, Any], existing: Row | None, name: str,
                     hashed: str | None, actor: str) -> dict[str, Any]:
        must_change = bool(tenant.policy["first_login_change_password"])
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            if existing is None:
                result = await tx.execute(
                    "INSERT INTO accounts (tenant_id, login, login_key, name, kind, position, status,"
                    " password_hash, must_change_password, password_changed_at, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (tenant.id, login, normalise_login(login), name, body.get("kind", "employee"),
                     (body.get("position") or "").strip(), "departed" if body.get("active") is False else "active",
                     hashed, must_change and hashed is not None, now if hashed else None, now, now))
                await self.audit.record(tenant.id, actor, "account.created", login,
                                        {"kind": body.get("kind", "employee"), "password_set": hashed is not None},
                                        ex=tx)
                account_id = result.lastrowid
            else:
                row = await self.directory.lock_row(tx, tenant, login)
                if row["status"] == "pending":  # registered by a stranger since our first read
                    refuse_pending(row)
                account_id = row["id"]
                await self._update(tx, tenant, row, body, name, hashed, must_change, actor, now)
            view = await self.directory.view_by_id(tx, tenant, int(account_id or 0))
        if hashed is not None and existing is not None:
            await self.limits.forget(tenant, int(existing["id"]))
        return view

    async def _update(self, tx: Executor, tenant: Tenant, row: Row, body: dict[str, Any], name: str,
                      hashed: str | None, must_change: bool, actor: str, now: float) -> None:
        sets: dict[str, Any] = {"name": name, "updated_at": now}
        if "kind" in body:
            sets["kind"] = body["kind"]
        if "position" in body:
            sets["position"] = (body.get("position") or "").strip()
        status = row["status"]
        if body.get("active") is False and status != "departed":
            sets["status"] = "departed"
            await self.bindings.end_for_account(tx, tenant, row["id"], "departed", actor)
            await self.audit.record(tenant.id, actor, "account.departed", row["login"], ex=tx)
        elif body.get("active") is True and status != "active":
            sets["status"] = "active"
            await self.audit.record(tenant.id, actor, "account.activated", row["login"], {"was": status}, ex=tx)
        if hashed is not None:
            # An administrator's reset also unlocks: the new password is theirs to hand out.
            sets.update(password_hash=hashed, must_change_password=must_change, password_changed_at=now,
                        failed_count=0, failed_since=None, locked_until=None)
            await self.bindings.end_for_account(tx, tenant, row["id"], "password_reset", actor)
            await self.audit.record(tenant.id, actor, "password.reset", row["login"],
                                    {"must_change_password": must_change,
                                     "unlocked": row["locked_until"] is not None}, ex=tx)
        assignments = ", ".join(f"{column} = ?" for column in sets)
        await tx.execute(f"UPDATE accounts SET {assignments} WHERE tenant_id = ? AND id = ?",
                         (*sets.values(), tenant.id, row["id"]))
        changed = sorted(k for k in body if k != "password")
        await self.audit.record(tenant.id, actor, "account.updated", row["login"], {"fields": changed}, ex=tx)

    async def depart(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        async with self.storage.transaction() as tx:
            row = await self.directory.lock_row(tx, tenant, login)
            if row["status"] != "departed":
                await self.bindings.end_for_account(tx, tenant, row["id"], "departed", actor)
                # Departing a pending self-registration refuses it: its password goes with it, so
                # a later PUT with active: true cannot hand the registrant the account.
                refused = row["status"] == "pending"
                await tx.execute(
                    "UPDATE accounts SET status = 'departed', updated_at = ?"
                    f"{', password_hash = NULL' if refused else ''} WHERE tenant_id = ? AND id = ?",
                    (self.clock.now(), tenant.id, row["id"]))
                if refused:
                    await leave_refusal(tx, tenant.id, int(row["id"]), str(row["login"]), self.clock.now())
                await self.audit.record(tenant.id, actor, "account.departed", row["login"],
                                        {"registration_refused": True} if refused else None, ex=tx)
            view = await self.directory.view_by_id(tx, tenant, row["id"])
        return view

    async def unbind(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        async with self.storage.transaction() as tx:
            row = await self.directory.lock_row(tx, tenant, login)
            await self.bindings.end_for_account(tx, tenant, row["id"], "admin_unbind", actor)
            view = await self.directory.view_by_id(tx, tenant, row["id"])
        return view

    async def unlock(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        row = await self.directory.require_row(tenant, login)
        await self.limits.unlock(tenant, row["id"])
        await self.audit.record(tenant.id, actor, "account.unlocked", row["login"])
        return await self.directory.view(tenant, login)

    async def approve(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        """A pending self-registration becomes active (no binding: the first sign-in makes it)."""
        async with self.storage.transaction() as tx:
            row = await self.directory.lock_row(tx, tenant, login)
            if row["status"] == "departed":
                raise Conflict("a departed account cannot be approved; PUT it with active: true")
            if row["status"] == "pending":
                await tx.execute("UPDATE accounts SET status = 'active', updated_at = ? WHERE tenant_id = ? AND id = ?",
                                 (self.clock.now(), tenant.id, row["id"]))
                await forget_applicant(tx, tenant.id, int(row["id"]))
                await self.audit.record(tenant.id, actor, "account.approved", row["login"], ex=tx)
            view = await self.directory.view_by_id(tx, tenant, row["id"])
        return view

    async def refuse(self, tenant: Tenant, login: str, actor: str) -> None:
        """A pending self-registration is refused: its row is deleted (the login is free again)."""
        async with self.storage.transaction() as tx:
            row = await self.directory.lock_row(tx, tenant, login)
            if row["status"] != "pending":
                raise Conflict("only a pending self-registration can be refused")
            await tx.execute("DELETE FROM account_sign_ins WHERE tenant_id = ? AND account_id = ?",
                             (tenant.id, row["id"]))
            await tx.execute("DELETE FROM account_wechat_ids WHERE tenant_id = ? AND account_id = ?",
                             (tenant.id, row["id"]))
            await leave_refusal(tx, tenant.id, int(row["id"]), str(row["login"]), self.clock.now())
            await tx.execute("DELETE FROM accounts WHERE tenant_id = ? AND id = ?", (tenant.id, row["id"]))
            await self.audit.record(tenant.id, actor, "account.refused", row["login"], ex=tx)

    async def import_file(self, tenant: Tenant, data: bytes, kind: str, actor: str) -> dict[str, int]:
        return await import_accounts(self.storage, self.audit, self.clock, tenant, data, kind, actor)

    # ---- the person's own actions (JSON endpoints of the WeChat pages) ----------------------
    def policy_info(self, tenant: Tenant) -> dict[str, Any]:
        return {"rules": policy_description(password_policy(tenant)),
                "allow_registration": bool(tenant.policy["allow_mobile_registration"])}

    async def me(self, tenant: Tenant, session: Session) -> dict[str, Any]:
        row = await self.directory.row_by_id(tenant, session.account_id)
        if row is None:
            raise NotFound("no such account")
        info = self.policy_info(tenant)
        return {"account": {k: row[k] for k in ("login", "name", "kind", "position")},
                "must_change_password": bool(row["must_change_password"]), "policy": info["rules"],
                "allow_registration": info["allow_registration"]}

    async def logout(self, tenant: Tenant, session: Session) -> None:
        await self.bindings.end_binding(tenant, session.binding_id, "logout", session.login)
