"""Webhook delivery of tenant events, signed as Standard Webhooks says: rows of webhook_deliveries
claimed with a lease, POSTed to webapi_url, retried with backoff for 24 hours, then dead."""
from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import random
from dataclasses import dataclass
from typing import Any

from gateway.documents.recipients import TenantsById
from gateway.platform.clock import Clock
from gateway.platform.events import EventLog, event_id
from gateway.platform.metrics import Metrics
from gateway.platform.safe_http import SafeHttp
from gateway.storage import Storage

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0          # twice one attempt (SafeHttp timeout 15 s)
FIRST_RETRY = 5.0
MAX_GAP = 3600.0
GIVE_UP_AFTER = 86400.0
CLAIM_SQL = ("SELECT event_id FROM webhook_deliveries{hint} WHERE state = 'pending' AND next_at <= ?"
             " ORDER BY next_at, event_id LIMIT {limit}{lock}")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">."""
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")  # tolerate unpadded base64
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def retry_delay(attempts: int) -> float:
    """2.5-5 s before the first retry, then x4 each time with jitter, never more than an hour apart."""
    base = min(MAX_GAP, FIRST_RETRY * 4 ** (attempts - 1))
    return base * random.uniform(0.5 if attempts == 1 else 0.75, 1.0)


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds asked for by a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def claim_sql(storage: Storage, limit: int) -> str:
    hint = " FORCE INDEX (webhook_due)" if storage.dialect == "mysql" else " INDEXED BY webhook_due"
    return CLAIM_SQL.format(hint=hint, limit=int(limit), lock=storage.skip_locked)


@dataclass
class Delivery:
    event_id: int
    tenant_id: int
    attempts: int
    first_at: float
    row: dict[str, Any]


class WebhookSender:
    def __init__(self, storage: Storage, clock: Clock, tenants: TenantsById, metrics: Metrics,
                 allow_private: bool) -> None:
        self.storage, self.clock, self.tenants, self.metrics = storage, clock, tenants, metrics
        self.http = SafeHttp(allow_private)

    async def claim(self, limit: int) -> list[Delivery]:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            rows = await tx.fetchall(claim_sql(self.storage, limit), (now,))
            ids = [r["event_id"] for r in rows]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            await tx.execute(f"UPDATE webhook_deliveries SET next_at = ?, lease_until = ?, attempts = attempts + 1"
                             f" WHERE event_id IN ({marks})", (now + LEASE_SECONDS, now + LEASE_SECONDS, *ids))
        rows = await self.storage.fetchall(
            "SELECT w.event_id, w.tenant_id, w.attempts, w.first_at, e.id, e.type, e.created_at, e.data"
            f" FROM webhook_deliveries w JOIN events e ON e.id = w.event_id WHERE w.event_id IN ({marks})", ids)
        return [Delivery(r["event_id"], r["tenant_id"], r["attempts"], r["first_at"], r) for r in rows]

    async def next_due(self) -> float | None:
        value = await self.storage.fetchval(
            "SELECT MIN(next_at) AS t FROM webhook_deliveries WHERE state = 'pending'")
        return None if value is None else float(value)

    async def deliver(self, item: Delivery) -> None:
        try:
            await self._deliver(item)
        except Exception:  # the outcome could not be recorded: the lease runs out and it is sent again
            log.exception("webhook delivery of event %s failed", item.event_id)

    async def _deliver(self, item: Delivery) -> None:
        tenant = self.tenants.by_id(item.tenant_id)
        if tenant is None or not tenant.webapi_url:
            await self._record(item, "dead", None, "no webapi_url")
            return
        body = json.dumps(EventLog.envelope(tenant.slug, item.row), ensure_ascii=False).encode()
        msg_id = event_id(item.event_id)
        timestamp = int(self.clock.now())
        headers = {"Content-Type": "application/json", "User-Agent": "wechat-gateway-webhooks/1",
                   "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(tenant.secrets.webhook_secret, msg_id, timestamp, body)}
        result = await self.http.post(tenant.webapi_url, body, headers)
        if 200 <= result.status < 300:
            self.metrics.webhook_deliveries.labels(tenant.slug, "ok").inc()
            await self._record(item, "delivered", None, None)
            return
        error = result.error or f"HTTP {result.status}"
        self.metrics.webhook_deliveries.labels(tenant.slug, "error").inc()
        now = self.clock.now()
        delay = retry_delay(item.attempts)
        asked = retry_after(result.headers.get("retry-after"), now)
        if asked is not None:
            delay = max(delay, min(asked, MAX_GAP))
        if now + delay > item.first_at + GIVE_UP_AFTER:
            log.warning("webhook %s of %s is dead after %s attempts (%s)", msg_id, tenant.slug, item.attempts, error)
            await self._record(item, "dead", None, error)
            return
        await self._record(item, "pending", now + delay, error)

    async def _record(self, item: Delivery, state: str, next_at: float | None, error: str | None) -> None:
        # Conditional on the claim's attempt number: a claim whose lease ran out records nothing.
        await self.storage.execute(
            "UPDATE webhook_deliveries SET state = ?, next_at = COALESCE(?, next_at), lease_until = 0,"
            " last_error = ? WHERE event_id = ? AND attempts = ? AND state = 'pending'",
            (state, next_at, error[:500] if error else None, item.event_id, item.attempts))

    def close(self) -> None:
        self.http.close()
