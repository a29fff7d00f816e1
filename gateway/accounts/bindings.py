"""Bindings of WeChat users (openid) to a tenant's accounts: one active binding per account and
per openid, enforced by unique keys; every bind and unbind is audited and emitted as an event
in the same transaction."""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.errors import Unavailable
from gateway.platform.events import EventLog
from gateway.storage import DuplicateKey, Executor, Row, Storage, StorageError, TransientConflict
from gateway.platform.tenant_state import TenantState
from gateway.platform.tenant import Tenant

log = logging.getLogger(__name__)

REASONS = ("logout", "password_changed", "password_reset", "admin_unbind", "departed", "rebound", "switched")
BIND_ATTEMPTS = 4


class BindFollower(Protocol):
    """Told of every new binding inside its transaction (documents queue the notifications that
    waited for it), and once more after the commit (for work written meanwhile by a transaction
    that could not see the binding yet)."""

    async def account_bound(self, ex: Executor, tenant: Tenant, account_id: int) -> int: ...

    async def after_bound(self, tenant: Tenant, account_id: int, queued: int) -> None: ...


class BindRefused(Exception):
    """The account changed between the password check and the bind: `reason` is departed,
    pending or password_changed. Nothing was written."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_race(exc: StorageError) -> bool:
    """A racing bind won (unique key) or the two collided (deadlock): try again."""
    return isinstance(exc, (DuplicateKey, TransientConflict))


class BindingStore:
    def __init__(self, storage: Storage, audit: AuditLog, events: EventLog, state: TenantState,
                 clock: Clock) -> None:
        self.storage, self.audit, self.events, self.state, self.clock = storage, audit, events, state, clock
        self._followers: list[BindFollower] = []

    def follow_binds(self, follower: BindFollower) -> None:
        """Subscribe `follower` to new bindings (wired once by the composition root)."""
        self._followers.append(follower)

    async def bind(self, tenant: Tenant, account_id: int, login: str, openid: str, actor: str,
                   password_hash: str | None = None, require_active: bool = False) -> int:
        """Bind openid to the account, ending whatever binding either had; returns the binding id.
        Binding a pair already bound changes nothing and returns the existing binding. With
        `password_hash` (the hash a sign-in just checked) the account must still be active with
        that hash, under its row lock, else BindRefused; with `require_active` (a bind without a
        password, e.g. a scanned bind QR code) it must still be active."""
        for attempt in range(BIND_ATTEMPTS):
            try:
                async with self.storage.transaction() as tx:
                    binding_id, created = await self._bind(tx, tenant, account_id, login, openid, actor,
                                                           password_hash, require_active)
                    queued = [await f.account_bound(tx, tenant, account_id)
                              for f in (self._followers if created else [])]
                break
            except StorageError as exc:
                if not _is_race(exc) or attempt == BIND_ATTEMPTS - 1:
                    if _is_race(exc):
                        raise Unavailable("the sign-in collided with another one; try again") from None
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        for follower, count in zip(self._followers, queued):
            try:
                await follower.after_bound(tenant, account_id, count)
            except Exception:  # the binding stands; what it would have released waits for the next
                log.exception("a follower of new bindings failed after the commit")
        if created:
            await self.state.set(tenant.id, "first_binding", True)
        return binding_id

    async def _bind(self, tx: Executor, tenant: Tenant, account_id: int, login: str, openid: str,
                    actor: str, password_hash: str | None, require_active: bool = False) -> tuple[int, bool]:
        # Locking the account row serialises binds of one account (and orders them against a
        # depart or reset, which lock it too); the unique keys settle the rest.
        account = await tx.fetchone(
            f"SELECT status, password_hash FROM accounts WHERE tenant_id = ? AND id = ?{self.storage.for_update}",
            (tenant.id, account_id))
        if password_hash is not None or require_active:
            if account is None or account["status"] == "departed":
                raise BindRefused("departed")
            if account["status"] != "active":
                raise BindRefused("pending")
            if password_hash is not None and account["password_hash"] != password_hash:
                raise BindRefused("password_changed")
        current = await tx.fetchall(
            "SELECT b.id, b.account_id, b.openid, a.login FROM bindings b"
            " JOIN accounts a ON a.id = b.account_id AND a.tenant_id = b.tenant_id"
            f" WHERE b.tenant_id = ? AND (b.active_account = ? OR b.active_openid = ?){self.storage.for_update}",
            (tenant.id, account_id, openid))
        for row in current:
            if row["account_id"] == account_id and row["openid"] == openid:
                return int(row["id"]), False
        for row in current:
            reason = "rebound" if row["account_id"] == account_id else "switched"
            await self._end(tx, tenant, row, reason, actor)
        now = self.clock.now()
        result = await tx.execute(
            "INSERT INTO bindings (tenant_id, account_id, openid, created_at, active_account, active_openid)"
            " VALUES (?, ?, ?, ?, ?, ?)", (tenant.id, account_id, openid, now, account_id, openid))
        assert result.lastrowid is not None
        await self.audit.record(tenant.id, actor, "account.bound", login,
                                {"openid": openid, "binding": result.lastrowid}, ex=tx)
        await self.events.emit(tenant, "account.bound", {"login": login, "openid": openid}, ex=tx)
        return int(result.lastrowid), True

    async def _end(self, tx: Executor, tenant: Tenant, row: Row, reason: str, actor: str) -> bool:
        assert reason in REASONS, reason
        result = await tx.execute(
            "UPDATE bindings SET ended_at = ?, end_reason = ?, active_account = NULL, active_openid = NULL"
            " WHERE tenant_id = ? AND id = ? AND ended_at IS NULL",
            (self.clock.now(), reason, tenant.id, row["id"]))
        if not result.rowcount:
            return False
        await self.audit.record(tenant.id, actor, "account.unbound", row["login"],
                                {"openid": row["openid"], "reason": reason, "binding": row["id"]}, ex=tx)
        await self.events.emit(tenant, "account.unbound",
                               {"login": row["login"], "openid": row["openid"], "reason": reason}, ex=tx)
        return True

    async def end_for_account(self, tx: Executor, tenant: Tenant, account_id: int, reason: str,
                              actor: str) -> int:
        """End the account's active binding inside the caller's transaction; returns how many ended."""
        rows = await tx.fetchall(
            "SELECT b.id, b.openid, a.login FROM bindings b"
            " JOIN accounts a ON a.id = b.account_id AND a.tenant_id = b.tenant_id"
            f" WHERE b.tenant_id = ? AND b.active_account = ?{self.storage.for_update}", (tenant.id, account_id))
        ended = 0
        for row in rows:
            ended += await self._end(tx, tenant, row, reason, actor)
        return ended

    async def end_binding(self, tenant: Tenant, binding_id: int, reason: str, actor: str) -> bool:
        async with self.storage.transaction() as tx:
            row = await tx.fetchone(
                "SELECT b.id, b.openid, a.login FROM bindings b"
                " JOIN accounts a ON a.id = b.account_id AND a.tenant_id = b.tenant_id"
                f" WHERE b.tenant_id = ? AND b.id = ? AND b.ended_at IS NULL{self.storage.for_update}",
                (tenant.id, binding_id))
            return row is not None and await self._end(tx, tenant, row, reason, actor)
