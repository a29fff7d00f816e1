"""Console sessions: a random token in an HttpOnly cookie, only its SHA-256 stored, ended by
sign-out, by idle time, by a maximum age, and when the account is deleted or its password changes."""
from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass

from gateway.platform.clock import Clock
from gateway.storage import Storage

IDLE_SECONDS = 30 * 60.0
MAX_AGE_SECONDS = 12 * 3600.0
TOUCH_EVERY = 60.0  # last_seen is rewritten at most this often, sparing a write per page
PURGE_ODDS = 20     # one sign-in in this many sweeps away the sessions that timed out


@dataclass(frozen=True)
class ConsoleSession:
    id_hash: str
    tenant_id: int            # 0 for the operator
    account_id: int | None    # None when signed in with the operator token
    role: str                 # operator | tenant_admin
    actor: str                # as the audit names who made a change
    must_change_password: bool
    totp_pending: bool        # TOTP required but not yet enrolled

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleSessions:
    def __init__(self, storage: Storage, clock: Clock, idle_seconds: float = IDLE_SECONDS) -> None:
        self.storage, self.clock, self.idle_seconds = storage, clock, idle_seconds

    async def start(self, tenant_id: int, account_id: int | None, role: str, actor: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        await self.storage.execute(
            "INSERT INTO console_sessions (id_hash, tenant_id, account_id, role, actor, created_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (token_hash(token), tenant_id, account_id, role, actor, now, now))
        if random.randrange(PURGE_ODDS) == 0:
            await self.purge()
        return token

    async def get(self, token: str | None) -> ConsoleSession | None:
        if not token or len(token) > 100:
            return None
        id_hash = token_hash(token)
        row = await self.storage.fetchone(
            "SELECT s.id_hash, s.tenant_id, s.account_id, s.role, s.actor, s.created_at, s.last_seen,"
            " a.id AS a_id, a.must_change_password, a.totp_required, a.totp_secret IS NULL AS no_secret"
            " FROM console_sessions s LEFT JOIN console_accounts a ON a.id = s.account_id"
            " AND a.tenant_id = s.tenant_id WHERE s.id_hash = ?", (id_hash,))
        if row is None:
            return None
        now = self.clock.now()
        gone = row["account_id"] is not None and row["a_id"] is None
        if gone or now - row["last_seen"] > self.idle_seconds or now - row["created_at"] > MAX_AGE_SECONDS:
            await self.end(token)
            return None
        if now - row["last_seen"] > TOUCH_EVERY:
            await self.storage.execute("UPDATE console_sessions SET last_seen = ? WHERE id_hash = ?", (now, id_hash))
        has_account = row["a_id"] is not None
        return ConsoleSession(id_hash, int(row["tenant_id"]), row["account_id"], str(row["role"]), str(row["actor"]),
                              has_account and bool(row["must_change_password"]),
                              has_account and bool(row["totp_required"]) and bool(row["no_secret"]))

    async def end(self, token: str) -> None:
        await self.storage.execute("DELETE FROM console_sessions WHERE id_hash = ?", (token_hash(token),))

    async def purge(self) -> None:
        """Drop sessions idle for longer than the timeout (they are refused anyway)."""
        await self.storage.execute("DELETE FROM console_sessions WHERE last_seen < ?",
                                   (self.clock.now() - self.idle_seconds,))
