"""Password sign-in and its limits: a per-account failure counter held in the cache and mirrored
in the account row (so it survives a cache flush or outage), the same counting and answers for
unknown logins, a looser per-IP limit per tenant, and the client IP as trusted proxies report it."""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from gateway.cache import Cache, CacheError
from gateway.clock import Clock, iso
from gateway.errors import (AccountDisabled, AccountPending, BadCredentials, Invalid, Locked, RateLimited,
                            Unavailable)
from gateway.passwords import HasherOverloaded
from gateway.sessions import Session
from gateway.storage import Row, Storage
from tenants.model import Tenant

if TYPE_CHECKING:
    from gateway.accounts import AccountService

log = logging.getLogger(__name__)

PERMANENT_LOCK = 253402300799.0  # 9999-12-31T23:59:59Z: "until the tenant unlocks it"
PERMANENT_WINDOW = 24 * 3600.0   # counting window when lockout_minutes is 0
UNKNOWN_LOCK_TTL = 30 * 86400.0  # a permanent lock of an unknown login still leaves Redis one day


@dataclass(frozen=True)
class LimitPolicy:
    max_failures: int
    lockout_seconds: float  # 0: locked until unlocked

    @classmethod
    def of(cls, tenant: Tenant) -> "LimitPolicy":
        policy = tenant.policy
        return cls(int(policy["max_login_failures"]), float(policy["lockout_minutes"]) * 60.0)

    @property
    def window(self) -> float:
        return self.lockout_seconds or PERMANENT_WINDOW

    def lock_until(self, now: float) -> float:
        return now + self.lockout_seconds if self.lockout_seconds else PERMANENT_LOCK

    def remaining(self, count: int) -> int:
        return max(0, self.max_failures - count)


def locked_details(until: float) -> dict[str, Any]:
    return {"locked_until": iso(until)}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class LoginLimiter:
    def __init__(self, storage: Storage, cache: Cache, clock: Clock, ip_limit: int,
                 ip_window_seconds: float) -> None:
        self.storage, self.cache, self.clock = storage, cache, clock
        self.ip_limit, self.ip_window = ip_limit, max(1.0, ip_window_seconds)

    # ---- per IP (fixed windows on the gateway clock, shared by every process through the cache)
    def _ip_key(self, tenant: Tenant, ip: str, now: float) -> tuple[str, float]:
        bucket = int(now // self.ip_window)
        return f"login:ip:{tenant.id}:{ip}:{bucket}", (bucket + 1) * self.ip_window

    async def check_ip(self, tenant: Tenant, ip: str) -> None:
        now = self.clock.now()
        key, window_end = self._ip_key(tenant, ip, now)
        try:
            value = await self.cache.get(key)
        except CacheError:
            return  # the per-account limit in the database still holds; this layer fails open
        if value is not None and int(value) >= self.ip_limit:
            raise RateLimited("too many failed sign-ins from this network; try again later",
                              {"retry_after": max(1, math.ceil(window_end - now))})

    async def ip_failed(self, tenant: Tenant, ip: str) -> None:
        key, _ = self._ip_key(tenant, ip, self.clock.now())
        try:
            await self.cache.incr(key, self.ip_window + 60)
        except CacheError:
            pass

    # ---- known accounts
    @staticmethod
    def _account_key(tenant: Tenant, account_id: int) -> str:
        return f"login:acct:{tenant.id}:{account_id}"

    async def _forget(self, key: str) -> None:
        try:
            await self.cache.delete(key)
        except CacheError:
            pass

    async def refresh(self, tenant: Tenant, row: Row, limits: LimitPolicy) -> Row:
        """Clear an expired lock or an expired counting window (judged on the gateway clock)."""
        now = self.clock.now()
        locked, since = row["locked_until"], row["failed_since"]
        if locked is not None and locked <= now:
            result = await self.storage.execute(
                "UPDATE accounts SET failed_count = 0, failed_since = NULL, locked_until = NULL"
                " WHERE tenant_id = ? AND id = ? AND locked_until = ?", (tenant.id, row["id"], locked))
        elif locked is None and since is not None and since + limits.window <= now:
            result = await self.storage.execute(
                "UPDATE accounts SET failed_count = 0, failed_since = NULL"
                " WHERE tenant_id = ? AND id = ? AND failed_since = ? AND locked_until IS NULL",
                (tenant.id, row["id"], since))
        else:
            return row
        if result.rowcount:
            await self._forget(self._account_key(tenant, row["id"]))
        return {**row, "failed_count": 0, "failed_since": None, "locked_until": None}

    async def claim(self, tenant: Tenant, account_id: int, limits: LimitPolicy) -> bool:
        """Take one attempt slot before the password is checked, so that parallel attempts never
        check more than max_failures passwords. The cache refuses floods cheaply; the row is the
        authority (and the only counter while the cache is down)."""
        try:
            if await self.cache.incr(self._account_key(tenant, account_id), limits.window) > limits.max_failures:
                return False
        except CacheError:
            log.warning("cache down: login counter of tenant %s falls back to the database", tenant.slug)
        result = await self.storage.execute(
            "UPDATE accounts SET failed_count = failed_count + 1, failed_since = COALESCE(failed_since, ?)"
            " WHERE tenant_id = ? AND id = ? AND failed_count < ? AND locked_until IS NULL",
            (self.clock.now(), tenant.id, account_id, limits.max_failures))
        return result.rowcount == 1

    async def release(self, tenant: Tenant, account_id: int) -> None:
        """Give a claimed slot back when the password could not be checked at all. The cache has
        no decrement: dropping its count is safe, since the row still holds the real one."""
        await self.storage.execute(
            "UPDATE accounts SET failed_count = failed_count - 1 WHERE tenant_id = ? AND id = ? AND failed_count > 0",
            (tenant.id, account_id))
        await self._forget(self._account_key(tenant, account_id))

    async def failed(self, tenant: Tenant, account_id: int, limits: LimitPolicy) -> tuple[int, float | None, bool]:
        """After a wrong password (its slot already counted): (count, locked_until, newly_locked)."""
        row = await self.storage.fetchone(
            "SELECT failed_count, locked_until FROM accounts WHERE tenant_id = ? AND id = ?", (tenant.id, account_id))
        if row is None:
            return limits.max_failures, None, False
        count = int(row["failed_count"])
        if row["locked_until"] is not None:
            return count, float(row["locked_until"]), False
        if count < limits.max_failures:
            return count, None, False
        until = limits.lock_until(self.clock.now())
        result = await self.storage.execute(
            "UPDATE accounts SET locked_until = ? WHERE tenant_id = ? AND id = ? AND locked_until IS NULL",
            (until, tenant.id, account_id))
        return count, until, result.rowcount == 1

    async def locked_until(self, tenant: Tenant, account_id: int, limits: LimitPolicy) -> float:
        """The lock to report to an attempt refused for want of a slot."""
        value = await self.storage.fetchval(
            "SELECT locked_until FROM accounts WHERE tenant_id = ? AND id = ?", (tenant.id, account_id))
        return float(value) if value is not None else limits.lock_until(self.clock.now())

    async def succeeded(self, tenant: Tenant, account_id: int) -> None:
        await self.storage.execute(
            "UPDATE accounts SET failed_count = 0, failed_since = NULL WHERE tenant_id = ? AND id = ?",
            (tenant.id, account_id))
        await self._forget(self._account_key(tenant, account_id))

    async def unlock(self, tenant: Tenant, account_id: int) -> None:
        await self.storage.execute(
            "UPDATE accounts SET failed_count = 0, failed_since = NULL, locked_until = NULL"
            " WHERE tenant_id = ? AND id = ?", (tenant.id, account_id))
        await self._forget(self._account_key(tenant, account_id))

    # ---- unknown logins: counted in the cache only, answered exactly like a real account
    @staticmethod
    def _unknown_keys(tenant: Tenant, login_key: str) -> tuple[str, str]:
        digest = _digest(login_key)
        return f"login:unk:{tenant.id}:{digest}", f"login:unklock:{tenant.id}:{digest}"

    async def unknown_locked_until(self, tenant: Tenant, login_key: str) -> float | None:
        count_key, lock_key = self._unknown_keys(tenant, login_key)
        try:
            value = await self.cache.get(lock_key)
            if value is None:
                return None
            until = float(value)
            if until > self.clock.now():
                return until
            await self.cache.delete(lock_key)
            await self.cache.delete(count_key)
        except CacheError:
            pass
        return None

    async def unknown_claim(self, tenant: Tenant, login_key: str, limits: LimitPolicy) -> int | None:
        """The attempt's number, or None when no slot is left (answered as locked)."""
        count_key, _ = self._unknown_keys(tenant, login_key)
        try:
            count = await self.cache.incr(count_key, limits.window)
        except CacheError:
            return 1
        return None if count > limits.max_failures else count

    async def shadow(self, tenant: Tenant) -> None:
        """The database work of claim() and failed() on no row, so that an unknown login costs what
        a wrong password costs and response times do not tell them apart."""
        await self.storage.execute(
            "UPDATE accounts SET failed_count = failed_count + 1 WHERE tenant_id = ? AND id = 0", (tenant.id,))
        await self.storage.fetchone("SELECT failed_count, locked_until FROM accounts WHERE tenant_id = ? AND id = 0",
                                    (tenant.id,))

    async def unknown_failed(self, tenant: Tenant, login_key: str, count: int, limits: LimitPolicy) -> float | None:
        if count < limits.max_failures:
            return None
        _, lock_key = self._unknown_keys(tenant, login_key)
        now = self.clock.now()
        until = limits.lock_until(now)
        try:
            await self.cache.set(lock_key, repr(until), limits.lockout_seconds or UNKNOWN_LOCK_TTL)
        except CacheError:
            pass
        return until


@dataclass
class SignedIn:
    token: str
    session: Session

    @property
    def must_change_password(self) -> bool:
        return self.session.must_change_password


_BAD = "the login or password is not right"


class SignIn:
    """Checks a login and password under the limits, then binds the WeChat user and starts a session."""

    def __init__(self, accounts: "AccountService") -> None:
        self.accounts = accounts
        self.limiter, self.hasher, self.audit = accounts.limits, accounts.hasher, accounts.audit
        self.clock = accounts.clock

    async def login(self, tenant: Tenant, login: Any, password: Any, ip: str, openid: str) -> SignedIn:
        row = await self.check(tenant, login, password, ip)
        binding_id = await self.accounts.bindings.bind(tenant, row["id"], row["login"], openid, actor=row["login"])
        return self._start(tenant, row, openid, binding_id)

    async def with_openid(self, tenant: Tenant, openid: str) -> SignedIn | None:
        """A session for the account this openid is bound to (after the OAuth step), if any."""
        row = await self.accounts.storage.fetchone(
            "SELECT a.id, a.login, a.must_change_password, b.id AS binding_id FROM bindings b"
            " JOIN accounts a ON a.id = b.account_id AND a.tenant_id = b.tenant_id"
            " WHERE b.tenant_id = ? AND b.active_openid = ? AND a.status = 'active'", (tenant.id, openid))
        if row is None:
            return None
        await self.audit.record(tenant.id, row["login"], "login.ok", row["login"], {"method": "wechat"})
        return self._start(tenant, row, openid, int(row["binding_id"]))

    def _start(self, tenant: Tenant, row: Row, openid: str, binding_id: int) -> SignedIn:
        token = self.accounts.sessions.issue(tenant, int(row["id"]), str(row["login"]), openid, binding_id)
        return SignedIn(token, Session(tenant, int(row["id"]), str(row["login"]), openid, binding_id,
                                       bool(row["must_change_password"])))

    async def check(self, tenant: Tenant, login: Any, password: Any, ip: str) -> Row:
        """The account row when the password is right; else the contract's refusal."""
        if not isinstance(login, str) or not isinstance(password, str):
            raise Invalid("login and password are required")
        limits = LimitPolicy.of(tenant)
        await self.limiter.check_ip(tenant, ip)
        from gateway.accounts import login_problem, normalise_login
        subject = login.strip()[:64]
        row = await self.accounts.row(tenant, login) if login_problem(login) is None else None
        if row is None:
            await self._unknown(tenant, normalise_login(login[:256]), subject, password, ip, limits)
        assert row is not None
        row = await self.limiter.refresh(tenant, row, limits)
        if row["locked_until"] is not None:
            await self._locked(tenant, subject, float(row["locked_until"]), ip)
        if row["status"] != "active":
            await self.audit.record(tenant.id, "anonymous", "login.refused", row["login"],
                                    {"reason": row["status"], "ip": ip})
            if row["status"] == "pending":
                raise AccountPending("this account waits for approval")
            raise AccountDisabled("this account is disabled")
        if not await self.limiter.claim(tenant, row["id"], limits):
            await self._locked(tenant, subject, await self.limiter.locked_until(tenant, row["id"], limits), ip)
        try:
            if row["password_hash"]:
                ok = await self.hasher.verify(password, row["password_hash"])
            else:  # imported without a password: cannot sign in until one is set
                await self.hasher.verify_dummy(password)
                ok = False
        except HasherOverloaded:
            await self.limiter.release(tenant, row["id"])
            raise Unavailable("the server is busy; try again in a moment") from None
        if not ok:
            count, until, newly = await self.limiter.failed(tenant, row["id"], limits)
            if newly and until is not None:
                await self.audit.record(tenant.id, "system", "account.locked", row["login"],
                                        {"locked_until": iso(until), "failures": count})
            reason = "wrong_password" if row["password_hash"] else "no_password"
            await self._failed(tenant, row["login"], reason, limits.remaining(count), until, ip)
        await self.limiter.succeeded(tenant, row["id"])
        await self._rehash(tenant, row, password)
        await self.audit.record(tenant.id, row["login"], "login.ok", row["login"], {"method": "password", "ip": ip})
        return row

    async def _unknown(self, tenant: Tenant, key: str, subject: str, password: str, ip: str,
                       limits: LimitPolicy) -> None:
        until = await self.limiter.unknown_locked_until(tenant, key)
        if until is not None:
            await self._locked(tenant, subject, until, ip)
        count = await self.limiter.unknown_claim(tenant, key, limits)
        if count is None:
            await self._locked(tenant, subject, limits.lock_until(self.clock.now()), ip)
        assert count is not None
        await self.limiter.shadow(tenant)
        try:
            await self.hasher.verify_dummy(password)
        except HasherOverloaded:
            raise Unavailable("the server is busy; try again in a moment") from None
        until = await self.limiter.unknown_failed(tenant, key, count, limits)
        await self._failed(tenant, subject, "unknown_login", limits.remaining(count), until, ip)

    async def _failed(self, tenant: Tenant, subject: str, reason: str, remaining: int, until: float | None,
                      ip: str) -> None:
        await self.limiter.ip_failed(tenant, ip)
        await self.audit.record(tenant.id, "anonymous", "login.failed", subject,
                                {"reason": reason, "remaining_attempts": remaining, "ip": ip})
        details: dict[str, Any] = {"remaining_attempts": remaining}
        if until is not None:
            details.update(locked_details(until))
        raise BadCredentials(_BAD, details)

    async def _locked(self, tenant: Tenant, subject: str, until: float, ip: str) -> None:
        await self.limiter.ip_failed(tenant, ip)
        await self.audit.record(tenant.id, "anonymous", "login.locked", subject,
                                {"locked_until": iso(until), "ip": ip})
        raise Locked("too many failed sign-ins; this account is locked", locked_details(until))

    async def _rehash(self, tenant: Tenant, row: Row, password: str) -> None:
        """Upgrade a hash made with older parameters, now that the password is known."""
        old = row["password_hash"]
        if not self.hasher.needs_rehash(old):
            return
        try:
            new = await self.hasher.hash(password)
        except (HasherOverloaded, ValueError):
            return
        await self.accounts.storage.execute(
            "UPDATE accounts SET password_hash = ? WHERE tenant_id = ? AND id = ? AND password_hash = ?",
            (new, tenant.id, row["id"], old))
        await self.audit.record(tenant.id, "system", "password.rehashed", row["login"])


def _ip_in(ip: str, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in networks:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _valid_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(peer: str, headers: Mapping[str, str], trusted_proxies: list[str]) -> str:
    """The connection's address, unless it is a trusted proxy: then the X-Real-Ip it sets, or the
    right-most X-Forwarded-For entry that is not itself a trusted proxy."""
    if not trusted_proxies or not _ip_in(peer, trusted_proxies):
        return peer
    real = _valid_ip(headers.get("X-Real-Ip", "") or "")
    if real:
        return real
    forwarded = [part.strip() for part in (headers.get("X-Forwarded-For", "") or "").split(",") if part.strip()]
    for entry in reversed(forwarded):
        address = _valid_ip(entry)
        if address is None:
            break
        if not _ip_in(address, trusted_proxies):
            return address
    return peer
