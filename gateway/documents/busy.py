"""A per-tenant circuit breaker for template sends: after a few sends in a row meet a busy or
unreachable WeChat, the tenant's other rows wait (not counted as attempts) while one probe every
few seconds asks again; the first success lets the waiting backlog go at once, paced as usual."""
from __future__ import annotations

from dataclasses import dataclass

OPEN_AFTER = 3        # retryable failures in a row that make WeChat count as busy for a tenant
PROBE_FIRST = 2.0     # seconds between probes at first…
PROBE_MAX = 5.0       # …doubling up to this: a backlog leaves within seconds of WeChat's return


@dataclass
class _State:
    failures: int = 0
    until: float = 0.0       # while open: no send before this (one probe then)
    interval: float = PROBE_FIRST

    @property
    def open(self) -> bool:
        return self.failures >= OPEN_AFTER


class BusyBreaker:
    def __init__(self) -> None:
        self._states: dict[int, _State] = {}

    def wait_until(self, tenant_id: int, now: float) -> float | None:
        """When a send of this tenant may go, if not now. A caller told None while the breaker is
        open is the probe: the next probe is then due one interval later."""
        state = self._states.get(tenant_id)
        if state is None or not state.open:
            return None
        if now < state.until:
            return state.until
        state.until = now + state.interval
        return None

    def failed(self, tenant_id: int, now: float) -> bool:
        """Record a busy or unreachable WeChat; True when the tenant's sends are (now) held."""
        state = self._states.setdefault(tenant_id, _State())
        state.failures += 1
        if state.open:
            if state.until <= now:
                state.until = now + state.interval
            state.interval = min(PROBE_MAX, state.interval * 2)
        return state.open

    def succeeded(self, tenant_id: int) -> bool:
        """Record a send WeChat accepted; True when this closed an open breaker (a backlog waits)."""
        state = self._states.pop(tenant_id, None)
        return state is not None and state.open
