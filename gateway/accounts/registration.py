"""Self-registration from the phone (when the tenant allows it): a pending account the tenant
approves later. An existing login gets the very same answer and nothing changes (only the
tenant's audit log says so), and attempts are limited per IP and per openid, counted before the
password is hashed so a burst cannot pass the limits."""
from __future__ import annotations

import math
from typing import Any

from gateway.accounts.client_ip import ip_bucket
from gateway.accounts.directory import AccountDirectory
from gateway.accounts.refusals import remember_applicant
from gateway.accounts.passwords import PasswordHasher, Requester
from gateway.accounts.rules import KINDS, check_new_password, hash_new_password, login_problem, normalise_login, text_problem
from gateway.cache import Cache, CacheError
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.errors import Forbidden, Invalid, RateLimited, Unauthorized
from gateway.platform.events import EventLog
from gateway.platform.links import entry_path
from gateway.platform.tenant import Tenant
from gateway.storage import DuplicateKey, Storage

PER_IP = 10              # registrations per IP (IPv6: per /64) per tenant per hour
PER_IP_WINDOW = 3600.0
PER_OPENID = 3           # registrations per WeChat user per tenant per day
PER_OPENID_WINDOW = 86400.0


class Registration:
    def __init__(self, storage: Storage, cache: Cache, clock: Clock, audit: AuditLog, events: EventLog,
                 directory: AccountDirectory, hasher: PasswordHasher) -> None:
        self.storage, self.cache, self.clock = storage, cache, clock
        self.audit, self.events, self.directory, self.hasher = audit, events, directory, hasher

    async def register(self, tenant: Tenant, openid: str | None, body: dict[str, Any], ip: str) -> None:
        if not tenant.policy["allow_mobile_registration"]:
            raise Forbidden("self-registration is not enabled for this organisation")
        if not openid:
            raise Unauthorized("open the registration page from the WeChat menu first",
                               {"entry": entry_path(tenant.slug, "register")})
        login, name, kind, password = self._fields(tenant, body)
        await self._limit(f"reg:ip:{tenant.id}:{ip_bucket(ip)}", PER_IP, PER_IP_WINDOW)
        await self._limit(f"reg:openid:{tenant.id}:{openid}", PER_OPENID, PER_OPENID_WINDOW)
        # Hashed whether or not the login exists, so both answers cost the same.
        hashed = await hash_new_password(self.hasher, password, Requester(str(tenant.id), ip))
        if await self.directory.row(tenant, login) is not None:
            await self._existing(tenant, login, openid, ip)
            return
        now = self.clock.now()
        try:
            async with self.storage.transaction() as tx:
                created = await tx.execute(
                    "INSERT INTO accounts (tenant_id, login, login_key, name, kind, position, status, password_hash,"
                    " must_change_password, password_changed_at, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, '', 'pending', ?, 0, ?, ?, ?)",
                    (tenant.id, login, normalise_login(login), name, kind, hashed, now, now, now))
                await remember_applicant(tx, tenant.id, int(created.lastrowid or 0), openid)
                await self.audit.record(tenant.id, login, "account.registered", login,
                                        {"kind": kind, "openid": openid, "ip": ip}, ex=tx)
                await self.events.emit(tenant, "account.registered", {"login": login, "name": name, "kind": kind},
                                       ex=tx)
        except DuplicateKey:  # created meanwhile: the same answer as any existing login
            await self._existing(tenant, login, openid, ip)

    def _fields(self, tenant: Tenant, body: dict[str, Any]) -> tuple[str, str, str, str]:
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
        return login, name, kind, password

    async def _existing(self, tenant: Tenant, login: str, openid: str, ip: str) -> None:
        row = await self.directory.row(tenant, login)
        subject = str(row["login"]) if row else login
        await self.audit.record(tenant.id, "anonymous", "account.registration_ignored", subject,
                                {"reason": "login_exists", "openid": openid, "ip": ip})

    async def _limit(self, key: str, limit: int, window: float) -> None:
        """Count one attempt in a fixed window; 429 once the window holds more than `limit`."""
        now = self.clock.now()
        bucket = int(now // window)
        try:
            count = await self.cache.incr(f"{key}:{bucket}", window + 60)
        except CacheError:
            return  # fails open like the per-IP sign-in limit: the tenant still approves each one
        if count > limit:
            raise RateLimited("too many registrations; try again later",
                              {"retry_after": max(1, math.ceil((bucket + 1) * window - now))})


