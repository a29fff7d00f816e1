"""Password checks under the login limits: sign-in (check, then bind the WeChat user and start a
session) and the person's own password change, whose current password counts against the same
per-account limit. Unknown logins are counted and answered exactly like wrong passwords."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

from gateway.accounts.bindings import BindingStore, BindRefused
from gateway.accounts.directory import AccountDirectory
from gateway.platform.errors import (AccountDisabled, AccountPending, BadCredentials, Busy, Conflict, Forbidden, Invalid,
                            Locked, NotFound, WeakPasswordError)
from gateway.accounts.login_limits import Counter, LimitPolicy, LoginLimiter, locked_details, tenant_zone
from gateway.accounts.passwords import BUSY_MESSAGE, HasherOverloaded, PasswordHasher, Requester
from gateway.accounts.rules import check_new_password, hash_new_password, login_problem, normalise_login
from gateway.accounts.activity import note_sign_in
from gateway.accounts.sessions import Session, SessionStore
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock, iso
from gateway.platform.tenant import Tenant
from gateway.storage import Row, Storage

T = TypeVar("T")
UNKNOWN_SUBJECT = "(unknown)"
_BAD = "the login or password is not right"
_LOCKED = "too many failed sign-ins; this account is locked"
_SAME = "新密码不能与当前密码相同 / the new password must differ from the current one"


@dataclass
class SignedIn:
    token: str
    session: Session

    @property
    def must_change_password(self) -> bool:
        return self.session.must_change_password


@dataclass(frozen=True)
class Subject:
    """Who an attempt is about, as the audit names it: the account's login, or for a login that
    names no account "(unknown)" and a short keyed digest (what was typed may be a password)."""
    name: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    remaining: int = 0
    locked_until: float | None = None


class SignIn:
    """Checks a login and password under the limits, then binds the WeChat user and starts a session."""

    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, directory: AccountDirectory,
                 limiter: LoginLimiter, hasher: PasswordHasher, bindings: BindingStore,
                 sessions: SessionStore) -> None:
        self.storage, self.clock, self.audit, self.directory = storage, clock, audit, directory
        self.limiter, self.hasher, self.bindings, self.sessions = limiter, hasher, bindings, sessions

    async def login(self, tenant: Tenant, login: Any, password: Any, ip: str, openid: str) -> SignedIn:
        row = await self.check(tenant, login, password, ip)
        try:
            binding_id = await self.bindings.bind(tenant, row["id"], row["login"], openid,
                                                           actor=row["login"], password_hash=row["password_hash"])
        except BindRefused as refused:
            # A depart, approval change or password reset landed after the check: answer as if
            # it had landed before it.
            await self.audit.record(tenant.id, "anonymous", "login.refused", row["login"],
                                    {"reason": refused.reason, "ip": ip})
            if refused.reason == "pending":
                raise AccountPending("this account waits for approval") from None
            if refused.reason == "departed":
                raise AccountDisabled("this account is disabled") from None
            raise BadCredentials(_BAD, {"remaining_attempts": LimitPolicy.of(tenant).max_failures}) from None
        await note_sign_in(self.storage, tenant.id, int(row["id"]), self.clock.now())
        return self._start(tenant, row, openid, binding_id)

    async def with_openid(self, tenant: Tenant, openid: str) -> SignedIn | None:
        """A session for the account this openid is bound to (after the OAuth step), if any."""
        row = await self.storage.fetchone(
            "SELECT a.id, a.login, a.must_change_password, b.id AS binding_id FROM bindings b"
            " JOIN accounts a ON a.id = b.account_id AND a.tenant_id = b.tenant_id"
            " WHERE b.tenant_id = ? AND b.active_openid = ? AND a.status = 'active'", (tenant.id, openid))
        if row is None:
            return None
        await self.audit.record(tenant.id, row["login"], "login.ok", row["login"], {"method": "wechat"})
        await note_sign_in(self.storage, tenant.id, int(row["id"]), self.clock.now())
        return self._start(tenant, row, openid, int(row["binding_id"]))

    def _start(self, tenant: Tenant, row: Row, openid: str, binding_id: int) -> SignedIn:
        token = self.sessions.issue(tenant, int(row["id"]), str(row["login"]), openid, binding_id)
        return SignedIn(token, Session(tenant, int(row["id"]), str(row["login"]), openid, binding_id,
                                       bool(row["must_change_password"])))

    # ---- the counted password check shared by sign-in and password change -------------------
    async def _open(self, tenant: Tenant, counter: Counter, state: Row, limits: LimitPolicy, who: Subject,
                    ip: str, action: str) -> Row:
        """The counter's state with expired windows cleared; 423 while it is locked."""
        state = await self.limiter.refresh(counter, state, limits)
        if state["locked_until"] is not None:
            await self._locked(tenant, who, float(state["locked_until"]), ip, action)
        return state

    async def _attempt(self, tenant: Tenant, counter: Counter, encoded: str | None, password: str,
                       limits: LimitPolicy, who: Subject, ip: str, action: str) -> Outcome:
        """Claim a slot, check the password (a dummy check without a hash) and count the result."""
        if not await self.limiter.claim(counter, limits):
            await self._locked(tenant, who, await self.limiter.locked_until(counter, limits), ip, action)
        try:
            requester = Requester(str(tenant.id), ip)
            if encoded:
                ok = await self.hasher.verify(password, encoded, requester)
            else:  # unknown login, or imported without a password: costs what a real check costs
                await self.hasher.verify_dummy(password, requester)
                ok = False
        except HasherOverloaded:
            await self.limiter.release(counter)
            raise Busy(BUSY_MESSAGE) from None
        if ok:
            await self.limiter.succeeded(counter)
            return Outcome(True)
        count, until, newly = await self.limiter.failed(counter, limits)
        if newly and until is not None and not counter.unknown:
            await self.audit.record(tenant.id, "system", "account.locked", who.name,
                                    {"locked_until": iso(until), "failures": count})
        return Outcome(False, limits.remaining(count), until)

    async def _locked(self, tenant: Tenant, who: Subject, until: float, ip: str, action: str) -> None:
        await self.audit.record(tenant.id, "anonymous", action, who.name,
                                {**who.detail, "reason": "locked", "locked_until": iso(until), "ip": ip})
        raise Locked(_LOCKED, locked_details(until, tenant_zone(tenant)))

    # ---- sign-in ----------------------------------------------------------------------------
    async def check(self, tenant: Tenant, login: Any, password: Any, ip: str) -> Row:
        """The account row when the password is right; else the contract's refusal. The attempt
        counts against the IP from before the password is checked; only a right password gives
        that slot back."""
        if not isinstance(login, str) or not isinstance(password, str):
            raise Invalid("login and password are required")
        return await self._ip_counted(tenant, ip, lambda: self._check(tenant, login, password, ip),
                                      (BadCredentials, Locked))

    async def _ip_counted(self, tenant: Tenant, ip: str, work: Callable[[], Awaitable[T]],
                          failures: tuple[type[Exception], ...]) -> T:
        """Run a password check with one slot of the IP's limit taken before it; the slot stays
        counted only when the check ends in one of `failures`."""
        slot = await self.limiter.reserve_ip(tenant, ip)
        try:
            result = await work()
        except failures:
            raise
        except BaseException:
            if slot is not None:
                await slot.give_back()
            raise
        if slot is not None:
            await slot.give_back()
        return result

    async def _check(self, tenant: Tenant, login: str, password: str, ip: str) -> Row:
        limits = LimitPolicy.of(tenant)
        row = await self.directory.row(tenant, login) if login_problem(login) is None else None
        if row is None:
            counter = self.limiter.unknown(tenant, normalise_login(login[:256]))
            who = Subject(UNKNOWN_SUBJECT, {"login_digest": str(counter.key)[:12]})
            await self._open(tenant, counter, await self.limiter.state(counter), limits, who, ip, "login.locked")
            outcome = await self._attempt(tenant, counter, None, password, limits, who, ip, "login.locked")
            await self._failed(tenant, who, "unknown_login", outcome, ip)
        assert row is not None
        counter, who = self.limiter.account(tenant, row["id"]), Subject(row["login"], {})
        row = {**row, **await self._open(tenant, counter, row, limits, who, ip, "login.locked")}
        # Every account, whatever its status, checks the password first (one KDF run, counted like
        # any other): only the right password learns that it is pending or departed.
        outcome = await self._attempt(tenant, counter, row["password_hash"], password, limits, who, ip, "login.locked")
        if not outcome.ok:
            reason = "wrong_password" if row["password_hash"] else "no_password"
            await self._failed(tenant, who, reason if row["status"] == "active" else f"{reason}_{row['status']}",
                               outcome, ip)
        if row["status"] != "active":
            await self.audit.record(tenant.id, "anonymous", "login.refused", row["login"],
                                    {"reason": row["status"], "ip": ip})
            if row["status"] == "pending":
                raise AccountPending("this account waits for approval")
            raise AccountDisabled("this account is disabled")
        row = {**row, "password_hash": await self._rehash(tenant, row, password)}
        await self.audit.record(tenant.id, row["login"], "login.ok", row["login"], {"method": "password", "ip": ip})
        return row

    async def _failed(self, tenant: Tenant, who: Subject, reason: str, outcome: Outcome, ip: str) -> None:
        await self.audit.record(tenant.id, "anonymous", "login.failed", who.name,
                                {**who.detail, "reason": reason, "remaining_attempts": outcome.remaining, "ip": ip})
        details: dict[str, Any] = {"remaining_attempts": outcome.remaining}
        if outcome.locked_until is not None:
            details.update(locked_details(outcome.locked_until, tenant_zone(tenant)))
        raise BadCredentials(_BAD, details)

    async def _rehash(self, tenant: Tenant, row: Row, password: str) -> str:
        """Upgrade a hash made with older parameters, now that the password is known; returns the
        hash the row holds for this password (the bind checks it is still the same)."""
        old = str(row["password_hash"])
        if not self.hasher.needs_rehash(old):
            return old
        try:
            new = await self.hasher.hash(password, Requester(str(tenant.id)))
        except (HasherOverloaded, ValueError):
            return old
        result = await self.storage.execute(
            "UPDATE accounts SET password_hash = ? WHERE tenant_id = ? AND id = ? AND password_hash = ?",
            (new, tenant.id, row["id"], old))
        if not result.rowcount:
            return old
        await self.audit.record(tenant.id, "system", "password.rehashed", row["login"])
        return new

    # ---- the person's own password change ---------------------------------------------------
    async def change_password(self, tenant: Tenant, session: Session, old: Any, new: Any, ip: str) -> SignedIn | None:
        """The current password (counted like a sign-in attempt), then the new one; every binding ends.
        A change the account was made to do at sign-in (first login, after a reset) completes that
        sign-in: this WeChat user, who has just given both passwords, is bound again and gets a new
        session (returned); otherwise None and the person signs in again."""
        if not isinstance(new, str):
            raise Invalid("new_password is required", {"field": "new_password"})
        old = old if isinstance(old, str) else ""  # no current password: refused below like a wrong one
        row = await self.directory.row_by_id(tenant, session.account_id)
        if row is None:
            raise NotFound("no such account")
        check_new_password(tenant, new, row["login"], row["name"])
        limits = LimitPolicy.of(tenant)
        await self._ip_counted(tenant, ip, lambda: self._check_current(tenant, row, old, limits, ip),
                               (Forbidden, Locked))
        if new == old:
            raise WeakPasswordError(_SAME, {"rule": "same_as_current"})
        hashed = await self._store_new(tenant, row, new)
        if not session.must_change_password:
            return None
        try:
            binding_id = await self.bindings.bind(tenant, row["id"], row["login"], session.openid,
                                                  actor=row["login"], password_hash=hashed)
        except BindRefused:  # departed or reset meanwhile: the new password stands, sign in again
            return None
        return self._start(tenant, {**row, "must_change_password": 0}, session.openid, binding_id)

    async def _check_current(self, tenant: Tenant, row: Row, old: str, limits: LimitPolicy, ip: str) -> None:
        counter, who = self.limiter.account(tenant, row["id"]), Subject(row["login"], {})
        action = "password.change_refused"
        await self._open(tenant, counter, row, limits, who, ip, action)
        outcome = await self._attempt(tenant, counter, row["password_hash"], old, limits, who, ip, action)
        if not outcome.ok:
            await self.audit.record(tenant.id, row["login"], action, row["login"],
                                    {"reason": "wrong current password", "remaining_attempts": outcome.remaining})
            if outcome.locked_until is not None:
                raise Locked(_LOCKED, {**locked_details(outcome.locked_until, tenant_zone(tenant)),
                                       "remaining_attempts": 0})
            raise Forbidden("the current password is not right", {"remaining_attempts": outcome.remaining})

    async def _store_new(self, tenant: Tenant, row: Row, new: str) -> str:
        hashed = await hash_new_password(self.hasher, new, Requester(str(tenant.id)))
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            # Only over the hash that was checked: a reset landing meanwhile wins.
            changed = await tx.execute(
                "UPDATE accounts SET password_hash = ?, must_change_password = 0, password_changed_at = ?,"
                " updated_at = ? WHERE tenant_id = ? AND id = ? AND password_hash = ?",
                (hashed, now, now, tenant.id, row["id"], row["password_hash"]))
            if changed.rowcount != 1:
                raise Conflict("the password was changed meanwhile; sign in again")
            await self.audit.record(tenant.id, row["login"], "password.changed", row["login"], ex=tx)
            await self.bindings.end_for_account(tx, tenant, row["id"], "password_changed", row["login"])
        return hashed
