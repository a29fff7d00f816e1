"""Console accounts: the operator's accounts (tenant_id 0) and each tenant's administrators.
Created with a random first password shown once, scrypt through the shared PasswordHasher,
counted and locked by the phone login's LoginLimiter, optional TOTP (pyotp) the operator requires."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

import pyotp

from gateway.accounts.login_limits import Counter, LimitPolicy, LoginLimiter, locked_details
from gateway.accounts.password_policy import PasswordPolicy, WeakPassword, check_password
from gateway.accounts.passwords import HasherOverloaded, PasswordHasher
from gateway.accounts.rules import login_problem, normalise_login
from gateway.platform.clock import Clock, iso
from gateway.platform.errors import (BadCredentials, Conflict, Invalid, Locked, NotFound, Unavailable,
                                     WeakPasswordError)
from gateway.platform.secretbox import SecretBox
from gateway.platform.tenant import Tenant
from gateway.storage import DuplicateKey, Row, Storage

OPERATOR_TENANT = 0
OPERATOR_LIMITS = LimitPolicy(max_failures=5, lockout_seconds=15 * 60.0)
# Console passwords guard every tenant's settings: longer than the phone's minimum, no composition rules.
CONSOLE_POLICY = PasswordPolicy(min_length=10)
_COLUMNS = ("id, tenant_id, login, role, password_hash, must_change_password, totp_required, totp_secret,"
            " failed_count, failed_since, locked_until, created_at")


class Audit(Protocol):
    async def record(self, tenant_id: int, actor: str, action: str, subject: str = "",
                     detail: dict[str, Any] | None = None) -> None: ...


@dataclass(frozen=True)
class ConsoleAccount:
    id: int
    tenant_id: int
    login: str
    role: str                 # operator | tenant_admin
    must_change_password: bool
    totp_required: bool
    totp_enrolled: bool
    locked_until: float | None

    @property
    def actor(self) -> str:
        return f"console:{self.login}"

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "login": self.login, "role": self.role, "must_change_password": self.must_change_password,
                "totp_required": self.totp_required, "totp_enrolled": self.totp_enrolled,
                "locked_until": iso(self.locked_until)}


def _account(row: Row) -> ConsoleAccount:
    return ConsoleAccount(int(row["id"]), int(row["tenant_id"]), str(row["login"]), str(row["role"]),
                          bool(row["must_change_password"]), bool(row["totp_required"]),
                          row["totp_secret"] is not None, row["locked_until"])


def new_first_password() -> str:
    return secrets.token_urlsafe(12)


class ConsoleAccounts:
    def __init__(self, storage: Storage, clock: Clock, hasher: PasswordHasher, limiter: LoginLimiter,
                 audit: Audit, box: SecretBox) -> None:
        self.storage, self.clock, self.hasher, self.limiter = storage, clock, hasher, limiter
        self.audit, self.box = audit, box

    # ---- reading ---------------------------------------------------------------------------
    async def _row(self, tenant_id: int, login: str) -> Row | None:
        return await self.storage.fetchone(f"SELECT {_COLUMNS} FROM console_accounts WHERE tenant_id = ?"
                                           " AND login_key = ?", (tenant_id, normalise_login(login)))

    async def get(self, tenant_id: int, account_id: int) -> ConsoleAccount | None:
        row = await self.storage.fetchone(f"SELECT {_COLUMNS} FROM console_accounts WHERE tenant_id = ? AND id = ?",
                                          (tenant_id, account_id))
        return None if row is None else _account(row)

    async def list(self, tenant_id: int) -> list[ConsoleAccount]:
        rows = await self.storage.fetchall(f"SELECT {_COLUMNS} FROM console_accounts WHERE tenant_id = ?"
                                           " ORDER BY id", (tenant_id,))
        return [_account(r) for r in rows]

    # ---- the operator's changes ------------------------------------------------------------
    async def create(self, tenant_id: int, login: Any, actor: str, totp_required: bool = False) -> str:
        """A new account; returns its first password (shown once, changed at first sign-in)."""
        problem = login_problem(login)
        if problem:
            raise Invalid(problem, {"field": "login"})
        password = new_first_password()
        encoded = await self._hash(password)
        now = self.clock.now()
        role = "operator" if tenant_id == OPERATOR_TENANT else "tenant_admin"
        try:
            await self.storage.execute(
                "INSERT INTO console_accounts (tenant_id, login, login_key, role, password_hash, must_change_password,"
                " totp_required, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (tenant_id, login.strip(), normalise_login(login), role, encoded, int(totp_required), now, now))
        except DuplicateKey:
            raise Conflict("a console account with this login exists", {"field": "login"}) from None
        await self.audit.record(tenant_id, actor, "console.account_created", login.strip(),
                                {"role": role, "totp_required": totp_required})
        return password

    async def reset_password(self, tenant_id: int, account_id: int, actor: str) -> str:
        account = await self._require(tenant_id, account_id)
        password = new_first_password()
        await self.storage.execute(
            "UPDATE console_accounts SET password_hash = ?, must_change_password = 1, failed_count = 0,"
            " failed_since = NULL, locked_until = NULL, updated_at = ? WHERE id = ?",
            (await self._hash(password), self.clock.now(), account.id))
        await self.limiter.succeeded(self._counter(account.tenant_id, account.id))  # drops the cache's count too
        await self.audit.record(tenant_id, actor, "console.password_reset", account.login)
        return password

    async def set_totp_required(self, tenant_id: int, account_id: int, required: bool, actor: str) -> None:
        account = await self._require(tenant_id, account_id)
        # Turning it off also forgets the secret, so turning it on again asks for a new enrolment.
        await self.storage.execute(
            "UPDATE console_accounts SET totp_required = ?, totp_secret = CASE WHEN ? = 1 THEN totp_secret"
            " ELSE NULL END, updated_at = ? WHERE id = ?", (int(required), int(required), self.clock.now(), account.id))
        await self.audit.record(tenant_id, actor, "console.totp_required" if required else "console.totp_off",
                                account.login)

    async def delete(self, tenant_id: int, account_id: int, actor: str) -> None:
        account = await self._require(tenant_id, account_id)
        await self.storage.execute("DELETE FROM console_sessions WHERE account_id = ?", (account.id,))
        await self.storage.execute("DELETE FROM console_accounts WHERE id = ?", (account.id,))
        await self.audit.record(tenant_id, actor, "console.account_deleted", account.login)

    async def _require(self, tenant_id: int, account_id: int) -> ConsoleAccount:
        account = await self.get(tenant_id, account_id)
        if account is None:
            raise NotFound("no such console account")
        return account

    # ---- sign-in -----------------------------------------------------------------------------
    def _counter(self, tenant_id: int, account_id: int) -> Counter:
        return Counter(tenant_id, "console_accounts", "id", account_id, f"console:acct:{account_id}")

    def _unknown_counter(self, tenant_id: int, login_key: str) -> Counter:
        digest = hmac.new(self.limiter.digest_key, f"console:{tenant_id}:{login_key}".encode("utf-8", "replace"),
                          hashlib.sha256).hexdigest()[:40]
        return Counter(tenant_id, "login_failures", "login_digest", "c" + digest[:39],
                       f"console:unk:{tenant_id}:{digest}")

    async def authenticate(self, tenant: Tenant | None, login: Any, password: Any, code: Any,
                           ip: str) -> ConsoleAccount:
        """The account when login, password and (if required and enrolled) the TOTP code are right;
        else BadCredentials with remaining_attempts, or Locked. Unknown logins count alike."""
        if not isinstance(login, str) or not isinstance(password, str) or not login.strip():
            raise Invalid("login and password are required")
        tenant_id = tenant.id if tenant else OPERATOR_TENANT
        limits = LimitPolicy.of(tenant) if tenant else OPERATOR_LIMITS
        if tenant is not None:
            await self.limiter.check_ip(tenant, ip)
        row = await self._row(tenant_id, login)
        counter = (self._counter(tenant_id, int(row["id"])) if row
                   else self._unknown_counter(tenant_id, normalise_login(login)))
        subject = str(row["login"]) if row else "(unknown)"
        state = row if row else await self.limiter.state(counter)
        state = await self.limiter.refresh(counter, state, limits)
        if state["locked_until"] is not None:
            await self._refuse_locked(tenant_id, subject, float(state["locked_until"]), ip)
        if not await self.limiter.claim(counter, limits):
            await self._refuse_locked(tenant_id, subject, await self.limiter.locked_until(counter, limits), ip)
        try:
            if row:
                ok = await self.hasher.verify(password, str(row["password_hash"]))
            else:
                await self.hasher.verify_dummy(password)
                ok = False
        except HasherOverloaded:
            await self.limiter.release(counter)
            raise Unavailable("the server is busy; try again in a moment") from None
        if ok and row is not None and row["totp_required"] and row["totp_secret"] is not None:
            ok = self._totp_ok(row, code)
        if ok and row is not None:
            await self.limiter.succeeded(counter)
            await self.audit.record(tenant_id, f"console:{row['login']}", "console.login.ok", subject, {"ip": ip})
            return _account(row)
        if tenant is not None:
            await self.limiter.ip_failed(tenant, ip)
        count, until, newly = await self.limiter.failed(counter, limits)
        await self.audit.record(tenant_id, "anonymous", "console.login.failed", subject, {"ip": ip})
        if newly and until is not None and row is not None:
            await self.audit.record(tenant_id, "system", "console.account_locked", subject,
                                    {"locked_until": iso(until), "failures": count})
        details: dict[str, Any] = {"remaining_attempts": limits.remaining(count)}
        if until is not None:
            details.update(locked_details(until))
        raise BadCredentials("the login, password or code is not right", details)

    async def _refuse_locked(self, tenant_id: int, subject: str, until: float, ip: str) -> None:
        await self.audit.record(tenant_id, "anonymous", "console.login.failed", subject,
                                {"reason": "locked", "locked_until": iso(until), "ip": ip})
        raise Locked("too many failed sign-ins; this account is locked", locked_details(until))

    def _totp_ok(self, row: Row, code: Any) -> bool:
        if not isinstance(code, str) or not code.strip().isdigit():
            return False
        secret = self.box.open(bytes(row["totp_secret"]), f"console-totp:{row['id']}").decode()
        return bool(pyotp.TOTP(secret).verify(code.strip(), valid_window=1))

    # ---- the account's own changes -------------------------------------------------------------
    async def change_password(self, account: ConsoleAccount, current: Any, new: Any, keep_session: str) -> None:
        """Checks the current password (uncounted: the session already proves who this is), the
        policy, then stores the new one and ends the account's other sessions."""
        if not isinstance(current, str) or not isinstance(new, str):
            raise Invalid("both passwords are required")
        row = await self.storage.fetchone("SELECT password_hash FROM console_accounts WHERE id = ?", (account.id,))
        if row is None or not await self.hasher.verify(current, str(row["password_hash"])):
            raise Invalid("the current password is not right", {"field": "current"})
        if new == current:
            raise WeakPasswordError("the new password must differ from the current one",
                                    {"rule": "same_as_current", "field": "new"})
        try:
            check_password(CONSOLE_POLICY, new, (account.login,))
        except WeakPassword as weak:
            raise WeakPasswordError(weak.message, {"rule": weak.rule, "field": "new"}) from None
        await self.storage.execute(
            "UPDATE console_accounts SET password_hash = ?, must_change_password = 0, updated_at = ? WHERE id = ?",
            (await self._hash(new), self.clock.now(), account.id))
        await self.storage.execute("DELETE FROM console_sessions WHERE account_id = ? AND id_hash <> ?",
                                   (account.id, keep_session))
        await self.audit.record(account.tenant_id, account.actor, "console.password_changed", account.login)

    def new_totp_secret(self) -> str:
        return pyotp.random_base32()

    def totp_uri(self, account: ConsoleAccount, secret: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account.login, issuer_name=issuer)

    async def enrol_totp(self, account: ConsoleAccount, secret: str, code: Any) -> None:
        """Stores the secret once a code made from it is right."""
        if not isinstance(code, str) or not code.strip().isdigit() or \
                not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
            raise Invalid("the code does not match", {"field": "code"})
        sealed = self.box.seal(secret.encode(), f"console-totp:{account.id}")
        await self.storage.execute("UPDATE console_accounts SET totp_secret = ?, updated_at = ? WHERE id = ?",
                                   (sealed, self.clock.now(), account.id))
        await self.audit.record(account.tenant_id, account.actor, "console.totp_enrolled", account.login)

    async def _hash(self, password: str) -> str:
        try:
            return await self.hasher.hash(password)
        except HasherOverloaded:
            raise Unavailable("the server is busy; try again in a moment") from None
