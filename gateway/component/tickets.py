"""The latest component_verify_ticket WeChat pushed (every 10 minutes), kept sealed in storage so
every process and every restart uses it; a ticket older than 12 hours is no longer offered."""
from __future__ import annotations

from gateway.platform.clock import Clock
from gateway.platform.secretbox import SecretBox
from gateway.storage import DuplicateKey, Storage

TICKET_SECONDS = 12 * 3600


class TicketStore:
    def __init__(self, storage: Storage, clock: Clock, box: SecretBox, component_appid: str) -> None:
        self.storage, self.clock, self.box, self.appid = storage, clock, box, component_appid

    def _context(self) -> str:
        return f"component-ticket:{self.appid}"

    async def save(self, ticket: str, create_time: float) -> bool:
        """Keep `ticket` unless a newer one is stored already (pushes may arrive out of order)."""
        sealed = self.box.seal(ticket.encode(), self._context())
        now = self.clock.now()
        done = await self.storage.execute(
            "UPDATE component_tickets SET sealed = ?, create_time = ?, received_at = ?"
            " WHERE component_appid = ? AND create_time <= ?", (sealed, create_time, now, self.appid, create_time))
        if done.rowcount:
            return True
        try:
            await self.storage.execute(
                "INSERT INTO component_tickets (component_appid, sealed, create_time, received_at) VALUES (?, ?, ?, ?)",
                (self.appid, sealed, create_time, now))
        except DuplicateKey:
            return False  # a newer ticket is stored
        return True

    async def latest(self) -> str | None:
        """The latest ticket while it is valid (12 h after WeChat made it), else None."""
        row = await self.storage.fetchone(
            "SELECT sealed, create_time FROM component_tickets WHERE component_appid = ?", (self.appid,))
        if row is None or self.clock.now() - float(row["create_time"]) > TICKET_SECONDS:
            return None
        try:
            return self.box.open(bytes(row["sealed"]), self._context()).decode()
        except Exception:  # sealed under another master key: as good as absent until the next push
            return None

    async def received_at(self) -> float | None:
        row = await self.storage.fetchone(
            "SELECT received_at FROM component_tickets WHERE component_appid = ?", (self.appid,))
        return None if row is None else float(row["received_at"])
