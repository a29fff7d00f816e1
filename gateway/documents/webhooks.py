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
from typing import Any, Callable

from gateway.documents.recipients import TenantsById
from gateway.documents.webhook_control import park_if_paused
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
CLAIM_SQL = ("SELECT event_id, tenant_id FROM webhook_deliveries{hint} WHERE state = 'pending' AND next_at <= ?"
             "{skip} ORDER BY next_at, event_id LIMIT {limit}{lock}")


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


def claim_sql(storage: Storage, limit: int, skip_tenants: int = 0) -> str:
    """The claim query; `skip_tenants` placeholders for tenants whose in-flight share is full."""
    hint = " FORCE INDEX (webhook_due)" if storage.dialect == "mysql" else " INDEXED BY webhook_due"
    skip = f" AND tenant_id NOT IN ({', '.join('?' * skip_tenants)})" if skip_tenants else ""
    return CLAIM_SQL.format(hint=hint, skip=skip, limit=int(limit), lock=storage.skip_locked)


@dataclass
class Delivery:
    event_id: int
    tenant_id: int
    attempts: int
    first_at: float
    row: dict[str, Any]


class WebhookSender:
    """Claims and sends deliveries. Besides the pipeline's total, each tenant has at most
    `per_tenant` deliveries in flight in this process, so one tenant's slow endpoint holds only
    its own share and never the slots the other tenants' deliveries need."""

    def __init__(self, storage: Storage, clock: Clock, tenants: TenantsById, metrics: Metrics,
                 allow_private: bool, per_tenant: int = 5) -> None:
        self.storage, self.clock, self.tenants, self.metrics = storage, clock, tenants, metrics
        self.http = SafeHttp(allow_private)
        self.per_tenant = max(1, per_tenant)
        self.busy: dict[int, int] = {}
        self.on_free: Callable[[], None] = lambda: None  # a tenant's share has room again

    async def claim(self, limit: int) -> list[Delivery]:
        now = self.clock.now()
        full = sorted(t for t, n in self.busy.items() if n >= self.per_tenant)
        async with self.storage.transaction() as tx:
            rows = await tx.fetchall(claim_sql(self.storage, limit, len(full)), (now, *full))
            taken: dict[int, int] = {}
            ids = []
            for r in rows:  # oldest first, up to each tenant's room
                tenant_id = int(r["tenant_id"])
                if self.busy.get(tenant_id, 0) + taken.get(tenant_id, 0) < self.per_tenant:
                    taken[tenant_id] = taken.get(tenant_id, 0) + 1
                    ids.append(r["event_id"])
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            await tx.execute(f"UPDATE webhook_deliveries SET next_at = ?, lease_until = ?, attempts = attempts + 1"
                             f" WHERE event_id IN ({marks})", (now + LEASE_SECONDS, now + LEASE_SECONDS, *ids))
        rows = await self.storage.fetchall(
            "SELECT w.event_id, w.tenant_id, w.attempts, w.first_at, e.id, e.type, e.created_at, e.data"
            f" FROM webhook_deliveries w JOIN events e ON e.id = w.event_id WHERE w.event_id IN ({marks})", ids)
        for r in rows:  # each is released by deliver(), whatever its outcome
            self.busy[int(r["tenant_id"])] = self.busy.get(int(r["tenant_id"]), 0) + 1
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
        finally:
            left = self.busy.get(item.tenant_id, 0) - 1
            if left > 0:
                self.busy[item.tenant_id] = left
            else:
                self.busy.pop(item.tenant_id, None)
            if left + 1 >= self.per_tenant:
                self.on_free()

    async def _deliver(self, item: Delivery) -> None:
        tenant = self.tenants.by_id(item.tenant_id)
        if tenant is None or not tenant.webapi_url:
            await self._record(item, "dead", None, "no webapi_url")
            return
        if await park_if_paused(self.storage, item.event_id, item.tenant_id, item.attempts):
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
