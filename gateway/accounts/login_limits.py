"""Login limits: a per-login failure counter held in the cache and mirrored in the database (the
account row, or a login_failures row for a login that names no account, so both survive a cache
flush or outage and count alike), a looser per-IP limit per tenant, and the client IP as trusted
proxies report it (gateway.accounts.client_ip). The sign-in flow that uses them is gateway.accounts.sign_in."""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.cache import Cache, CacheError
from gateway.accounts.client_ip import ip_bucket
from gateway.platform.clock import Clock, iso
from gateway.platform.errors import RateLimited
from gateway.storage import Row, Storage
from gateway.platform.tenant import Tenant

log = logging.getLogger(__name__)

PERMANENT_LOCK = 253402300799.0  # 9999-12-31T23:59:59Z: "until the tenant unlocks it"
PERMANENT_WINDOW = 24 * 3600.0   # counting window when lockout_minutes is 0
PURGE_ODDS = 32                  # one new unknown-login row in this many sweeps the tenant's stale ones


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


DEFAULT_ZONE = "Asia/Shanghai"


def unlock_time_text(until: float, zone: str = DEFAULT_ZONE) -> str:
    """When a lock ends, in words a phone shows as they are (the server's clock and the tenant's
    time zone, not the phone's): "12月8日 09:30（北京时间）", or that only an administrator unlocks it."""
    if until >= PERMANENT_LOCK:
        return "管理员解锁之后"
    # Up to the next whole minute (the lock still holds during the minute it ends in), from the whole
    # second `locked_until` shows, so the text and the ISO time always agree.
    local = datetime.fromtimestamp(math.ceil(int(until) / 60) * 60, ZoneInfo(zone))
    label = "北京时间" if zone == DEFAULT_ZONE else zone
    return f"{local.month}月{local.day}日 {local:%H:%M}（{label}）"


def tenant_zone(tenant: Tenant) -> str:
    """The tenant's time zone for the phone pages (the phone settings' `time_zone` where the
    tenant has that setting), else Beijing time."""
    zone = getattr(tenant, "time_zone", None)
    return zone if isinstance(zone, str) and zone else DEFAULT_ZONE


def locked_details(until: float, zone: str = DEFAULT_ZONE) -> dict[str, Any]:
    return {"locked_until": iso(until), "locked_until_text": unlock_time_text(until, zone)}


@dataclass(frozen=True)
class Counter:
    """Where one login's failures are counted: its account row, or the login_failures row of a
    login that names no account. Both tables have failed_count, failed_since and locked_until."""
    tenant_id: int
    table: str
    column: str
    key: int | str
    cache_key: str

    @property
    def where(self) -> str:
        return f"tenant_id = ? AND {self.column} = ?"

    @property
    def params(self) -> tuple[int, int | str]:
        return self.tenant_id, self.key

    @property
    def unknown(self) -> bool:
        return self.table == "login_failures"


@dataclass
class IpSlot:
    """One attempt counted against an IP; given back when it did not fail (a right password)."""
    cache: Cache
    back_key: str
    ttl: float
    returned: bool = False

    async def give_back(self) -> None:
        if self.returned:
            return
        self.returned = True
        try:
            await self.cache.incr(self.back_key, self.ttl)
        except CacheError:
            pass


NO_FAILURES: Row = {"failed_count": 0, "failed_since": None, "locked_until": None}


class LoginLimiter:
    def __init__(self, storage: Storage, cache: Cache, clock: Clock, ip_limit: int,
                 ip_window_seconds: float, digest_key: bytes) -> None:
        self.storage, self.cache, self.clock = storage, cache, clock
        self.ip_limit, self.ip_window = ip_limit, max(1.0, ip_window_seconds)
        self.digest_key = digest_key

    def login_digest(self, tenant: Tenant, login_key: str) -> str:
        """A keyed hash of a normalised login: lets an unknown login be counted (and named in the
        audit) without storing what was typed, which may be someone's password."""
        message = f"{tenant.id}:{login_key}".encode("utf-8", "surrogatepass")
        return hmac.new(self.digest_key, message, hashlib.sha256).hexdigest()[:40]

    # ---- per IP (fixed windows on the gateway clock, shared by every process through the cache)
    def _ip_key(self, tenant: Tenant, ip: str, now: float) -> tuple[str, float]:
        bucket = int(now // self.ip_window)
        return f"login:ip:{tenant.id}:{ip_bucket(ip)}:{bucket}", (bucket + 1) * self.ip_window

    async def reserve_ip(self, tenant: Tenant, ip: str) -> "IpSlot | None":
        """Count this attempt against the IP before any password is checked, so parallel attempts
        never check more than the limit (429 past it). The cache has no decrement: a slot given
        back (an attempt that did not fail) is counted in a second key and subtracted."""
        now = self.clock.now()
        key, window_end = self._ip_key(tenant, ip, now)
        try:
            taken = await self.cache.incr(key, self.ip_window + 60)
            returned = await self.cache.get(key + ":back")
        except CacheError:
            return None  # the per-login limit in the database still holds; this layer fails open
        slot = IpSlot(self.cache, key + ":back", self.ip_window + 60)
        if taken - int(returned or 0) > self.ip_limit:
            await slot.give_back()
            raise RateLimited("too many failed sign-ins from this network; try again later",
                              {"retry_after": max(1, math.ceil(window_end - now))})
        return slot

    # ---- per login
    def account(self, tenant: Tenant, account_id: int) -> Counter:
        return Counter(tenant.id, "accounts", "id", account_id, f"login:acct:{tenant.id}:{account_id}")

    def unknown(self, tenant: Tenant, login_key: str) -> Counter:
        digest = self.login_digest(tenant, login_key)
        return Counter(tenant.id, "login_failures", "login_digest", digest, f"login:unk:{tenant.id}:{digest}")

    async def _forget(self, counter: Counter) -> None:
        try:
            await self.cache.delete(counter.cache_key)
        except CacheError:
            pass

    async def state(self, counter: Counter) -> Row:
        """The counter's columns (an account row already holds them; this reads an unknown login's)."""
        row = await self.storage.fetchone(
            f"SELECT failed_count, failed_since, locked_until FROM {counter.table} WHERE {counter.where}",
            counter.params)
        return row or dict(NO_FAILURES)

    async def refresh(self, counter: Counter, row: Row, limits: LimitPolicy) -> Row:
        """Clear an expired lock or an expired counting window (judged on the gateway clock)."""
        now = self.clock.now()
        locked, since = row["locked_until"], row["failed_since"]
        if locked is not None and locked <= now:
            result = await self.storage.execute(
                f"UPDATE {counter.table} SET failed_count = 0, failed_since = NULL, locked_until = NULL"
                f" WHERE {counter.where} AND locked_until = ?", (*counter.params, locked))
        elif locked is None and since is not None and since + limits.window <= now:
            result = await self.storage.execute(
                f"UPDATE {counter.table} SET failed_count = 0, failed_since = NULL"
                f" WHERE {counter.where} AND failed_since = ? AND locked_until IS NULL", (*counter.params, since))
        else:
            return row
        if result.rowcount:
            await self._forget(counter)
        return {**row, **NO_FAILURES}

    async def claim(self, counter: Counter, limits: LimitPolicy) -> bool:
        """Take one attempt slot before the password is checked, so that parallel attempts never
        check more than max_failures passwords. The cache refuses floods cheaply; the database row
        is the authority (and the only counter while the cache is down)."""
        try:
            if await self.cache.incr(counter.cache_key, limits.window) > limits.max_failures:
                return False
        except CacheError:
            log.warning("cache down: a login counter of tenant %s falls back to the database", counter.tenant_id)
        now = self.clock.now()
        take = (f"UPDATE {counter.table} SET failed_count = failed_count + 1,"
                f" failed_since = COALESCE(failed_since, ?)"
                f" WHERE {counter.where} AND failed_count < ? AND locked_until IS NULL")
        result = await self.storage.execute(take, (now, *counter.params, limits.max_failures))
        if result.rowcount == 1 or not counter.unknown:
            return result.rowcount == 1
        inserted = await self.storage.execute(
            f"{self.storage.insert_ignore} INTO login_failures (tenant_id, login_digest, failed_count, failed_since)"
            " VALUES (?, ?, 1, ?)", (*counter.params, now))
        if inserted.rowcount == 1:
            if random.randrange(PURGE_ODDS) == 0:
                await self._purge(counter.tenant_id, limits, now)
            return True
        # The row exists (full or locked, or a racing attempt created it): one more try decides.
        result = await self.storage.execute(take, (now, *counter.params, limits.max_failures))
        return result.rowcount == 1

    async def _purge(self, tenant_id: int, limits: LimitPolicy, now: float) -> None:
        """Unknown logins get a row each: drop the tenant's rows whose window or lock is over."""
        await self.storage.execute(
            "DELETE FROM login_failures WHERE tenant_id = ? AND ((locked_until IS NULL AND"
            " (failed_since IS NULL OR failed_since <= ?)) OR locked_until <= ?)",
            (tenant_id, now - limits.window, now))

    async def release(self, counter: Counter) -> None:
        """Give a claimed slot back when the password could not be checked at all. The cache has
        no decrement: dropping its count is safe, since the row still holds the real one."""
        await self.storage.execute(
            f"UPDATE {counter.table} SET failed_count = failed_count - 1 WHERE {counter.where} AND failed_count > 0",
            counter.params)
        await self._forget(counter)

    async def failed(self, counter: Counter, limits: LimitPolicy) -> tuple[int, float | None, bool]:
        """After a wrong password (its slot already counted): (count, locked_until, newly_locked)."""
        row = await self.storage.fetchone(
            f"SELECT failed_count, locked_until FROM {counter.table} WHERE {counter.where}", counter.params)
        if row is None:
            return limits.max_failures, None, False
        count = int(row["failed_count"])
        if row["locked_until"] is not None:
            return count, float(row["locked_until"]), False
        if count < limits.max_failures:
            return count, None, False
        until = limits.lock_until(self.clock.now())
        result = await self.storage.execute(
            f"UPDATE {counter.table} SET locked_until = ? WHERE {counter.where} AND locked_until IS NULL",
            (until, *counter.params))
        return count, until, result.rowcount == 1

    async def locked_until(self, counter: Counter, limits: LimitPolicy) -> float:
        """The lock to report to an attempt refused for want of a slot."""
        value = await self.storage.fetchval(f"SELECT locked_until FROM {counter.table} WHERE {counter.where}",
                                            counter.params)
        return float(value) if value is not None else limits.lock_until(self.clock.now())

    async def succeeded(self, counter: Counter) -> None:
        await self.storage.execute(
            f"UPDATE {counter.table} SET failed_count = 0, failed_since = NULL WHERE {counter.where}", counter.params)
        await self._forget(counter)

    async def unlock(self, tenant: Tenant, account_id: int) -> None:
        counter = self.account(tenant, account_id)
        await self.storage.execute(
            "UPDATE accounts SET failed_count = 0, failed_since = NULL, locked_until = NULL"
            f" WHERE {counter.where}", counter.params)
        await self._forget(counter)

    async def forget(self, tenant: Tenant, account_id: int) -> None:
        """Drop the cache's count of an account whose row was just reset (an administrator's reset)."""
        await self._forget(self.account(tenant, account_id))


def login_digest_key(master_key: bytes) -> bytes:
    """The key of the login digests (derived from the master key, used for nothing else)."""
    return hmac.new(master_key, b"gateway/login-digest/v1", hashlib.sha256).digest()
