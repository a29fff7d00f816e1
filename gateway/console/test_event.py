"""A signed test event sent once to a tenant's webapi_url (not recorded, not retried), so an
administrator sees at once whether the receiver accepts the gateway's webhooks."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from gateway.documents.webhooks import sign
from gateway.platform.clock import Clock, iso
from gateway.platform.safe_http import SafeHttp
from gateway.platform.tenant import Tenant

TEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class TestResult:
    __test__ = False
    status: int           # 0 when no HTTP answer came
    error: str | None
    event_id: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class TestEventSender:
    __test__ = False

    def __init__(self, clock: Clock, allow_private: bool) -> None:
        self.clock = clock
        self.http = SafeHttp(allow_private, timeout=TEST_TIMEOUT)

    async def send(self, tenant: Tenant) -> TestResult:
        msg_id = "evt_test_" + secrets.token_hex(8)
        if not tenant.webapi_url:
            return TestResult(0, "no webapi_url", msg_id)
        now = self.clock.now()
        body = json.dumps({"id": msg_id, "type": "gateway.test", "tenant": tenant.slug, "created_at": iso(now),
                           "data": {"message": "test event from the console"}}, ensure_ascii=False).encode()
        timestamp = int(now)
        headers = {"Content-Type": "application/json", "User-Agent": "wechat-gateway-webhooks/1",
                   "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(tenant.secrets.webhook_secret, msg_id, timestamp, body)}
        result = await self.http.post(tenant.webapi_url, body, headers)
        return TestResult(result.status, result.error, msg_id)

    async def close(self) -> None:
        self.http.close()
