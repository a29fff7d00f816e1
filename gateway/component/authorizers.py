"""One row per authorizer account: which tenant it is connected to (0 until connected), what it
granted, whether it is still authorized, and its authorizer_refresh_token sealed under the master
key (bound to the appid), replaced whenever WeChat hands out a new one."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gateway.platform.clock import Clock
from gateway.platform.secretbox import SecretBox
from gateway.storage import DuplicateKey, Storage

AUTHORIZED, REVOKED = "authorized", "revoked"


@dataclass
class AuthorizerRow:
    appid: str
    tenant_id: int
    status: str
    func_info: list[int] = field(default_factory=list)
    authorized_at: float = 0.0


class AuthorizerStore:
    def __init__(self, storage: Storage, clock: Clock, box: SecretBox) -> None:
        self.storage, self.clock, self.box = storage, clock, box

    @staticmethod
    def _context(appid: str) -> str:
        return f"authorizer-refresh:{appid}"

    @staticmethod
    def _row(row: dict[str, Any]) -> AuthorizerRow:
        return AuthorizerRow(str(row["authorizer_appid"]), int(row["tenant_id"]), str(row["status"]),
                             [int(i) for i in json.loads(row["func_info"] or "[]")], float(row["authorized_at"]))

    async def get(self, appid: str) -> AuthorizerRow | None:
        row = await self.storage.fetchone(
            "SELECT authorizer_appid, tenant_id, status, func_info, authorized_at FROM component_authorizers"
            " WHERE authorizer_appid = ?", (appid,))
        return None if row is None else self._row(row)

    async def authorized(self, appid: str, refresh_token: str | None, func_info: list[int]) -> None:
        """A (re-)authorization: new refresh token and grants, status authorized; the tenant link is kept."""
        now = self.clock.now()
        sealed = None if refresh_token is None else self.box.seal(refresh_token.encode(), self._context(appid))
        funcs = json.dumps(sorted(set(func_info)))
        done = await self.storage.execute(
            "UPDATE component_authorizers SET refresh_sealed = COALESCE(?, refresh_sealed), func_info = ?,"
            " status = ?, authorized_at = ?, updated_at = ? WHERE authorizer_appid = ?",
            (sealed, funcs, AUTHORIZED, now, now, appid))
        if done.rowcount:
            return
        try:
            await self.storage.execute(
                "INSERT INTO component_authorizers (authorizer_appid, tenant_id, refresh_sealed, func_info, status,"
                " authorized_at, updated_at) VALUES (?, 0, ?, ?, ?, ?, ?)", (appid, sealed, funcs, AUTHORIZED, now, now))
        except DuplicateKey:  # made a moment ago by another process: update it instead
            await self.authorized(appid, refresh_token, func_info)

    async def connect(self, appid: str, tenant_id: int) -> None:
        await self.storage.execute("UPDATE component_authorizers SET tenant_id = ?, updated_at = ?"
                                   " WHERE authorizer_appid = ?", (tenant_id, self.clock.now(), appid))

    async def revoked(self, appid: str) -> bool:
        """The account withdrew the authorization: its refresh token is worthless, so it is dropped."""
        done = await self.storage.execute(
            "UPDATE component_authorizers SET status = ?, refresh_sealed = NULL, updated_at = ?"
            " WHERE authorizer_appid = ?", (REVOKED, self.clock.now(), appid))
        return bool(done.rowcount)

    async def refresh_token(self, appid: str) -> str | None:
        row = await self.storage.fetchone(
            "SELECT refresh_sealed, status FROM component_authorizers WHERE authorizer_appid = ?", (appid,))
        if row is None or row["refresh_sealed"] is None or row["status"] != AUTHORIZED:
            return None
        return self.box.open(bytes(row["refresh_sealed"]), self._context(appid)).decode()

    async def rotate_refresh_token(self, appid: str, old: str, new: str) -> None:
        """Save the refresh token WeChat returned with a new access token (it may have rotated it)."""
        if new == old:
            return
        await self.storage.execute(
            "UPDATE component_authorizers SET refresh_sealed = ?, updated_at = ? WHERE authorizer_appid = ?"
            " AND status = ?", (self.box.seal(new.encode(), self._context(appid)), self.clock.now(), appid, AUTHORIZED))
