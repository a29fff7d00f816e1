"""The token centre's second home, in storage: every fetched access_token and jsapi_ticket is also
kept here (sealed with AES-GCM, bound to its key), with a lease column, so that while the cache is
down the processes still fetch a token once for all of them and share it."""
from __future__ import annotations

import json
import secrets

from gateway.platform.clock import Clock
from gateway.platform.secretbox import SecretBox
from gateway.storage import Storage


class TokenVault:
    def __init__(self, storage: Storage, clock: Clock, box: SecretBox) -> None:
        self.storage, self.clock, self.box = storage, clock, box
        self.owner = secrets.token_hex(8)

    async def get(self, key: str) -> tuple[str, float] | None:
        """(value, expires_at) of the stored token, or None."""
        row = await self.storage.fetchone("SELECT sealed FROM wechat_tokens WHERE token_key = ?", (key,))
        if row is None or row["sealed"] is None:
            return None
        try:
            data = json.loads(self.box.open(bytes(row["sealed"]), f"token:{key}"))
            return str(data["value"]), float(data["expires_at"])
        except Exception:  # sealed under another master key, or damaged: as good as absent
            return None

    async def put(self, key: str, value: str, expires_at: float) -> None:
        sealed = self.box.seal(json.dumps({"value": value, "expires_at": expires_at}).encode(), f"token:{key}")
        for _ in range(2):
            done = await self.storage.execute(
                "UPDATE wechat_tokens SET sealed = ?, expires_at = ? WHERE token_key = ?", (sealed, expires_at, key))
            if done.rowcount:
                return
            await self._ensure_row(key)

    async def drop_if(self, key: str, value: str) -> bool:
        stored = await self.get(key)
        if stored is None or stored[0] != value:
            return False
        await self.storage.execute("UPDATE wechat_tokens SET sealed = NULL, expires_at = 0 WHERE token_key = ?",
                                   (key,))
        return True

    async def take_lease(self, key: str, seconds: float) -> bool:
        """The right to fetch `key` for `seconds`, for one process at a time (a conditional update)."""
        now = self.clock.now()
        taken = await self.storage.execute(
            "UPDATE wechat_tokens SET lease_owner = ?, lease_until = ? WHERE token_key = ? AND lease_until < ?",
            (self.owner, now + seconds, key, now))
        if taken.rowcount == 0 and await self.storage.fetchone(
                "SELECT 1 AS x FROM wechat_tokens WHERE token_key = ?", (key,)) is None:
            await self._ensure_row(key)  # the first lease of this key: make its row, then try once more
            taken = await self.storage.execute(
                "UPDATE wechat_tokens SET lease_owner = ?, lease_until = ? WHERE token_key = ? AND lease_until < ?",
                (self.owner, now + seconds, key, now))
        return taken.rowcount == 1

    async def release(self, key: str) -> None:
        await self.storage.execute(
            "UPDATE wechat_tokens SET lease_until = 0 WHERE token_key = ? AND lease_owner = ?", (key, self.owner))

    async def _ensure_row(self, key: str) -> None:
        await self.storage.execute(
            f"{self.storage.insert_ignore} INTO wechat_tokens (token_key, sealed, expires_at, lease_owner, lease_until)"
            " VALUES (?, NULL, 0, '', 0)", (key,))
