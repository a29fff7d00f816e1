"""Telling an applicant that their self-registration was refused: the WeChat user (openid) who
registered is remembered with the pending account; a refusal leaves a notice for that openid,
which the phone's login or registration page shows once (taken, then gone)."""
from __future__ import annotations

from gateway.platform.clock import Clock
from gateway.platform.tenant import Tenant
from gateway.storage import Executor, Storage

KEEP_SECONDS = 90 * 86400.0  # an applicant who never comes back is not told after three months


async def remember_applicant(tx: Executor, tenant_id: int, account_id: int, openid: str) -> None:
    await tx.execute("INSERT INTO registration_openids (tenant_id, account_id, openid) VALUES (?, ?, ?)",
                     (tenant_id, account_id, openid))


async def forget_applicant(tx: Executor, tenant_id: int, account_id: int) -> None:
    await tx.execute("DELETE FROM registration_openids WHERE tenant_id = ? AND account_id = ?",
                     (tenant_id, account_id))


async def leave_refusal(tx: Executor, tenant_id: int, account_id: int, login: str, now: float) -> None:
    """Under the refusal's transaction: the applicant's openid gets a notice (the latest refusal wins)."""
    row = await tx.fetchone("SELECT openid FROM registration_openids WHERE tenant_id = ? AND account_id = ?",
                            (tenant_id, account_id))
    if row is None:
        return  # registered before applicants were remembered
    await forget_applicant(tx, tenant_id, account_id)
    await tx.execute("DELETE FROM refused_registrations WHERE tenant_id = ? AND openid = ?", (tenant_id, row["openid"]))
    await tx.execute("INSERT INTO refused_registrations (tenant_id, openid, login, refused_at) VALUES (?, ?, ?, ?)",
                     (tenant_id, row["openid"], login, now))


class RefusalNotices:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def take(self, tenant: Tenant, openid: str | None) -> str | None:
        """The login of this WeChat user's refused registration, once; None when there is none."""
        if not openid:
            return None
        row = await self.storage.fetchone(
            "SELECT login, refused_at FROM refused_registrations WHERE tenant_id = ? AND openid = ?",
            (tenant.id, openid))
        if row is None:
            return None
        gone = await self.storage.execute("DELETE FROM refused_registrations WHERE tenant_id = ? AND openid = ?",
                                          (tenant.id, openid))
        if gone.rowcount != 1 or row["refused_at"] < self.clock.now() - KEEP_SECONDS:
            return None  # shown by another request at the same moment, or too old
        return str(row["login"])
