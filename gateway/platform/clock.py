"""An injectable clock, so lockouts, leases and expiries are tested without sleeping."""
from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 with a zone offset (UTC)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")
