"""Accounts of each tenant (employees, customers, suppliers): the tenant API's operations, the
lookups other parts use (recipients, account of an openid), and the service wiring
(`install(gw)` sets gw.accounts with its hasher, limiter, bindings, sessions and OAuth flow)."""
from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.accounts.bindings import BindingStore
from gateway.platform.clock import iso
from gateway.platform.errors import Busy, Conflict, Forbidden, Invalid, NotFound, Unauthorized, WeakPasswordError
from gateway.accounts.login_limits import LoginLimiter
from gateway.accounts.password_policy import PasswordPolicy, WeakPassword, check_password, policy_description
from gateway.accounts.passwords import BUSY_MESSAGE, HasherOverloaded, PasswordHasher, Requester, ScryptParams
from gateway.accounts.sessions import Session, SessionStore
from gateway.storage import DuplicateKey, Executor, Row
from gateway.platform.tenant import Tenant

if TYPE_CHECKING:
    from gateway.root import Gateway

KINDS = ("employee", "customer", "supplier")
MAX_LOGIN_CHARS = 64
MAX_TEXT_CHARS = 100
ACCOUNT_FIELDS = ("name", "kind", "position", "password", "active")
_LOOKUP_CHUNK = 500
_SELECT = ("SELECT a.id, a.login, a.login_key, a.name, a.kind, a.position, a.status, a.password_hash,"
           " a.must_change_password, a.failed_count, a.failed_since, a.locked_until,"
           " b.id AS binding_id, b.openid AS bound_openid, b.created_at AS bound_at FROM accounts a"
           " LEFT JOIN bindings b ON b.tenant_id = a.tenant_id AND b.active_account = a.id")


def normalise_login(login: str) -> str:
    """The lookup key of a login: NFKC-normalised, case-folded, without surrounding spaces."""
    return unicodedata.normalize("NFKC", login).casefold().strip()


def login_problem(login: Any) -> str | None:
    if not isinstance(login, str) or not login.strip():
        return "login is required"
    text = login.strip()
    if len(text) > MAX_LOGIN_CHARS:
        return f"login must be at most {MAX_LOGIN_CHARS} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch in "/\\?#" for ch in text):
        return "login must not contain control characters or / \\ ? #"
    if not normalise_login(text):
        return "login is required"
    return None


def text_problem(field: str, value: Any, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{field} is required" if required else None
    if not isinstance(value, str):
        return f"{field} must be a string"
    if len(value.strip()) > MAX_TEXT_CHARS:
        return f"{field} must be at most {MAX_TEXT_CHARS} characters"
    return None


def password_policy(tenant: Tenant) -> PasswordPolicy:
    policy = tenant.policy
    return PasswordPolicy(min_length=int(policy["password_min_length"]),
                          classes=tuple(policy["password_classes"] or ()))


def check_new_password(tenant: Tenant, password: Any, login: str, name: str) -> str:
    """The password if the tenant's policy accepts it, else 400 weak_password naming the rule."""
    if not isinstance(password, str):
        raise Invalid("password must be a string", {"field": "password"})
    try:
        check_password(password_policy(tenant), password, (login, name, tenant.name, tenant.slug))
    except WeakPassword as weak:
        raise WeakPasswordError(weak.message, {"rule": weak.rule}) from None
    return password


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


class AccountService:
    def __init__(self, gw: "Gateway") -> None:
        from gateway.accounts.oauth import OAuthFlow
        from gateway.accounts.sign_in import SignIn
        self.gw = gw
        self.storage, self.clock, self.audit = gw.storage, gw.clock, gw.audit
        sec = gw.settings.security
        self.hasher = PasswordHasher(ScryptParams(n=sec.password_hash_n))
        digest_key = hmac.new(gw.settings.master_key_bytes, b"gateway/login-digest/v1", hashlib.sha256).digest()
        self.limits = LoginLimiter(gw.storage, gw.cache, gw.clock, sec.ip_login_failures,
                                   sec.ip_window_minutes * 60.0, digest_key)
        self.bindings = BindingStore(gw.storage, gw.audit, gw.events, gw.state, gw.clock)
        self.sessions = SessionStore(gw.storage, gw.clock, sec.session_key, sec.session_hours)
        self.sign_in = SignIn(self)
        self.oauth = OAuthFlow(gw, self)

    async def close(self) -> None:
        self.hasher.close()

    # ---- lookups ----------------------------------------------------------------------------
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

    async def _lock_row(self, tx: Executor, tenant: Tenant, login: str) -> Row:
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

    async def _view_by_id(self, ex: Executor, tenant: Tenant, account_id: int) -> dict[str, Any]:
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

    # ---- passwords --------------------------------------------------------------------------
    async def hash_password(self, password: str, requester: Requester | None = None) -> str:
        try:
            return await self.hasher.hash(password, requester)
        except HasherOverloaded:
            raise Busy(BUSY_MESSAGE) from None
        except ValueError:
            raise WeakPasswordError("the password is too long", {"rule": "too_long"}) from None

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
        existing = await self.row(tenant, login)
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
            hashed = await self.hash_password(check_new_password(tenant, body["password"], login, name),
                                              Requester(str(tenant.id)))
        try:
            view = await self._write(tenant, login, body, existing, name, hashed, actor)
        except DuplicateKey:
            # A concurrent first PUT created it between our read and our insert: this one updates.
            if existing is not None:
                raise
            existing = await self.require_row(tenant, login)
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
                row = await self._lock_row(tx, tenant, login)
                account_id = row["id"]
                await self._update(tx, tenant, row, body, name, hashed, must_change, actor, now)
            view = await self._view_by_id(tx, tenant, int(account_id or 0))
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
            row = await self._lock_row(tx, tenant, login)
            if row["status"] != "departed":
                await self.bindings.end_for_account(tx, tenant, row["id"], "departed", actor)
                await tx.execute("UPDATE accounts SET status = 'departed', updated_at = ? WHERE tenant_id = ? AND id = ?",
                                 (self.clock.now(), tenant.id, row["id"]))
                await self.audit.record(tenant.id, actor, "account.departed", row["login"], ex=tx)
            view = await self._view_by_id(tx, tenant, row["id"])
        return view

    async def unbind(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        async with self.storage.transaction() as tx:
            row = await self._lock_row(tx, tenant, login)
            await self.bindings.end_for_account(tx, tenant, row["id"], "admin_unbind", actor)
            view = await self._view_by_id(tx, tenant, row["id"])
        return view

    async def unlock(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        row = await self.require_row(tenant, login)
        await self.limits.unlock(tenant, row["id"])
        await self.audit.record(tenant.id, actor, "account.unlocked", row["login"])
        return await self.view(tenant, login)

    async def approve(self, tenant: Tenant, login: str, actor: str) -> dict[str, Any]:
        """A pending self-registration becomes active (no binding: the first sign-in makes it)."""
        async with self.storage.transaction() as tx:
            row = await self._lock_row(tx, tenant, login)
            if row["status"] == "departed":
                raise Conflict("a departed account cannot be approved; PUT it with active: true")
            if row["status"] == "pending":
                await tx.execute("UPDATE accounts SET status = 'active', updated_at = ? WHERE tenant_id = ? AND id = ?",
                                 (self.clock.now(), tenant.id, row["id"]))
                await self.audit.record(tenant.id, actor, "account.approved", row["login"], ex=tx)
            view = await self._view_by_id(tx, tenant, row["id"])
        return view

    async def import_file(self, tenant: Tenant, data: bytes, kind: str, actor: str) -> dict[str, int]:
        from gateway.accounts.importer import import_accounts
        return await import_accounts(self, tenant, data, kind, actor)

    # ---- the person's own actions (JSON endpoints of the WeChat pages) ----------------------
    def policy_info(self, tenant: Tenant) -> dict[str, Any]:
        return {"rules": policy_description(password_policy(tenant)),
                "allow_registration": bool(tenant.policy["allow_mobile_registration"])}

    async def me(self, tenant: Tenant, session: Session) -> dict[str, Any]:
        row = await self.row_by_id(tenant, session.account_id)
        if row is None:
            raise NotFound("no such account")
        info = self.policy_info(tenant)
        return {"account": {k: row[k] for k in ("login", "name", "kind", "position")},
                "must_change_password": bool(row["must_change_password"]), "policy": info["rules"],
                "allow_registration": info["allow_registration"]}

    async def register(self, tenant: Tenant, openid: str | None, body: dict[str, Any]) -> None:
        """A pending self-registration, when the tenant allows it; the tenant approves it later."""
        if not tenant.policy["allow_mobile_registration"]:
            raise Forbidden("self-registration is not enabled for this organisation")
        if not openid:
            raise Unauthorized("open the registration page from the WeChat menu first",
                               {"entry": f"/wx/{tenant.slug}/entry?next=register"})
        unknown = sorted(str(k) for k in body if k not in ("login", "name", "password", "kind"))
        if unknown:
            raise Invalid(f"unknown fields: {', '.join(unknown)}", {"fields": unknown})
        kind = body.get("kind") or "employee"
        problems = [p for p in (login_problem(body.get("login")), text_problem("name", body.get("name"), True),
                                None if kind in KINDS else f"kind must be one of {', '.join(KINDS)}") if p]
        if problems:
            raise Invalid("; ".join(problems), {"problems": problems})
        login, name = body["login"].strip(), body["name"].strip()
        password = check_new_password(tenant, body.get("password"), login, name)
        if await self.row(tenant, login) is not None:
            raise Conflict("this login is already taken", {"login": login})
        hashed = await self.hash_password(password, Requester(str(tenant.id)))
        now = self.clock.now()
        try:
            async with self.storage.transaction() as tx:
                await tx.execute(
                    "INSERT INTO accounts (tenant_id, login, login_key, name, kind, position, status, password_hash,"
                    " must_change_password, password_changed_at, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, '', 'pending', ?, 0, ?, ?, ?)",
                    (tenant.id, login, normalise_login(login), name, kind, hashed, now, now, now))
                await self.audit.record(tenant.id, login, "account.registered", login,
                                        {"kind": kind, "openid": openid}, ex=tx)
                await self.gw.events.emit(tenant, "account.registered",
                                          {"login": login, "name": name, "kind": kind}, ex=tx)
        except DuplicateKey:
            raise Conflict("this login is already taken", {"login": login}) from None

    async def change_password(self, tenant: Tenant, session: Session, old: Any, new: Any, ip: str) -> None:
        """The person's own change: the current password (counted like a sign-in), then the new one."""
        await self.sign_in.change_password(tenant, session, old, new, ip)

    async def logout(self, tenant: Tenant, session: Session) -> None:
        await self.bindings.end_binding(tenant, session.binding_id, "logout", session.login)


async def install(gw: "Gateway") -> None:
    service = AccountService(gw)
    gw.accounts = service
    gw.on_stop(service.close)
