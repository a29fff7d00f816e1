"""The console's services built from their collaborators (`install(gw)` sets gw.console)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.console.accounts import ConsoleAccounts
from gateway.console.sessions import ConsoleSessions
from gateway.console.test_event import TestEventSender

if TYPE_CHECKING:
    from gateway.root import Gateway


class ConsoleService:
    def __init__(self, accounts: ConsoleAccounts, sessions: ConsoleSessions, test_events: TestEventSender) -> None:
        self.accounts, self.sessions, self.test_events = accounts, sessions, test_events


async def install(gw: "Gateway") -> None:
    # Reuses the accounts domain's hasher (one bounded scrypt pool) and login limiter (one lockout machinery).
    accounts = ConsoleAccounts(gw.storage, gw.clock, gw.accounts.hasher, gw.accounts.limits, gw.audit, gw.box)
    test_events = TestEventSender(gw.clock, gw.settings.security.allow_private_webhooks)
    gw.console = ConsoleService(accounts, ConsoleSessions(gw.storage, gw.clock), test_events)
    gw.on_stop(test_events.close)
