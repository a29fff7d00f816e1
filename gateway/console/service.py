"""The console's services together (built by the composition root): console accounts, their
sessions, and the test webhook event."""
from __future__ import annotations

from gateway.console.accounts import ConsoleAccounts
from gateway.console.sessions import ConsoleSessions
from gateway.console.test_event import TestEventSender


class ConsoleService:
    def __init__(self, accounts: ConsoleAccounts, sessions: ConsoleSessions, test_events: TestEventSender) -> None:
        self.accounts, self.sessions, self.test_events = accounts, sessions, test_events
