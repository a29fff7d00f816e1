"""Each tenant's health at a glance for the operator's tenants list: onboarding steps done, the
last WeChat callback, the token state, template sends and failures today (Beijing time), and
webhook deliveries failing or given up."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from gateway.platform.clock import Clock
from gateway.storage import Storage

BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Health:
    steps_done: int
    steps_total: int
    last_callback: float | None
    token: str            # ok | bad_credentials | ip_blocked | unknown
    sent_today: int
    failed_today: int
    webhook_failures: int


def beijing_time(ts: float) -> str:
    """A time as the console shows it: Beijing time to the minute."""
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M")


def start_of_day(now: float) -> float:
    local = datetime.fromtimestamp(now, BEIJING)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class HealthReader:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def of(self, tenant_id: int, steps: list[bool | None]) -> Health:
        facts = {r["name"]: r for r in await self.storage.fetchall(
            "SELECT name, value, updated_at FROM tenant_state WHERE tenant_id = ?", (tenant_id,))}
        seen = facts.get("callback_seen")
        if facts.get("ip_blocked") and facts["ip_blocked"]["value"] not in ("null", "false"):
            token = "ip_blocked"
        elif facts.get("bad_credentials") and facts["bad_credentials"]["value"] == "true":
            token = "bad_credentials"
        elif facts.get("credentials_ok") and facts["credentials_ok"]["value"] == "true":
            token = "ok"
        else:
            token = "unknown"
        today = start_of_day(self.clock.now())
        sends = await self.storage.fetchone(
            "SELECT SUM(CASE WHEN delivery IN ('sent', 'delivered') THEN 1 ELSE 0 END) AS ok,"
            " SUM(CASE WHEN delivery LIKE 'failed:%' THEN 1 ELSE 0 END) AS failed"
            " FROM document_recipients WHERE tenant_id = ? AND updated_at >= ?", (tenant_id, today))
        hooks = await self.storage.fetchval(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE tenant_id = ? AND (state = 'dead'"
            " OR (state = 'pending' AND attempts > 0))", (tenant_id,))
        return Health(sum(1 for s in steps if s), len(steps), float(seen["updated_at"]) if seen else None, token,
                      int((sends or {}).get("ok") or 0), int((sends or {}).get("failed") or 0), int(hooks or 0))
