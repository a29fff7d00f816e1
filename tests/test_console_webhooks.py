"""The console's webhooks page over HTTP: recent deliveries (status, receiver's answer, attempts,
next try), redeliver one, pause (deliveries are parked, not sent, not counted) and resume (the
parked ones are sent), each audited with the console actor, and tenant isolation."""
from __future__ import annotations

import re

from console_client import ConsoleClient
from harness import Receiver, wait_for

ALLOW = {"allow_private_webhooks": True}
DECISION = {"doc_id": "PO-1", "login": "alice", "decision": "approve", "comment": "", "decided_at": None}


async def emit(g, n: int = 1) -> list[str]:
    tenant = g.gw.registry.get("acme")
    ids = [await g.gw.events.emit(tenant, "document.decision", {**DECISION, "doc_id": f"PO-{i}"}) for i in range(n)]
    g.gw.delivery.wake_webhooks()
    return ids


async def state_of(g, event: str) -> tuple[str, int]:
    row = await g.gw.storage.fetchone("SELECT state, attempts FROM webhook_deliveries WHERE event_id = ?",
                                      (int(event.removeprefix("evt_")),))
    return row["state"], row["attempts"]


async def admin_client(g, slug: str) -> ConsoleClient:
    op = ConsoleClient(g)
    await op.sign_in_operator()
    password = await op.create_admin(slug, "admin1")
    admin = ConsoleClient(g)
    await admin.sign_in_admin(slug, "admin1", password)
    return admin


def row_of(page: str, event: str) -> str:
    return page.split(f'data-event="{event}"')[1].split("</tr>")[0]


async def test_webhooks_page_redeliver_pause_and_resume(env) -> None:
    async with Receiver() as receiver:
        async with env.gateway(security=ALLOW) as g:
            await g.create_tenant("acme", webapi_url=receiver.url())
            await g.create_tenant("beta")
            receiver.script = [(503, {"Retry-After": "3600"})]
            [failing] = await emit(g)  # one at a time: the receiver's scripted 503 goes to this one
            await wait_for(lambda: len(receiver.requests) == 1)
            [ok] = await emit(g)
            await wait_for(lambda: len(receiver.requests) == 2)
            admin = await admin_client(g, "acme")

            async def page_shows(text: str):
                page = await admin.get("/console/t/acme/webhooks")
                return page.text if text in page.text else None
            page = await wait_for(lambda: page_shows("HTTP 503"))
            assert re.findall(r'<tr data-event="([^"]+)"', page) == [ok, failing]  # newest first
            bad = row_of(page, failing)
            assert "等待发送或重试" in bad and "HTTP 503" in bad and '<td class="attempts">1</td>' in bad
            assert re.search(r'<td class="next">\d{4}-\d\d-\d\d \d\d:\d\d</td>', bad)
            good = row_of(page, ok)
            assert "已送达" in good and "2xx" in good
            # Redeliver the failing one now instead of in an hour.
            done = await admin.post("/console/t/acme/webhooks", {"action": "redeliver", "event": failing})
            assert done.status == 200 and "已安排立即重新推送" in done.text
            await wait_for(lambda: len(receiver.requests) == 3)
            assert receiver.ids()[-1] == failing
            assert (await wait_for(lambda: _is(g, failing, "delivered")))
            # Pause: a new event is parked, not sent and not counted as an attempt.
            paused = await admin.post("/console/t/acme/webhooks", {"action": "pause"})
            assert paused.status == 200 and "推送已暂停" in paused.text and 'id="resume"' in paused.text
            [held] = await emit(g)
            assert await wait_for(lambda: _is(g, held, "paused"))
            assert await state_of(g, held) == ("paused", 0) and len(receiver.requests) == 3
            assert "已暂停" in row_of((await admin.get("/console/t/acme/webhooks")).text, held)
            resumed = await admin.post("/console/t/acme/webhooks", {"action": "resume"})
            assert resumed.status == 200 and "推送正常进行中" in resumed.text
            await wait_for(lambda: len(receiver.requests) == 4)
            assert receiver.ids()[-1] == held and await wait_for(lambda: _is(g, held, "delivered"))
            audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
            mine = [e["action"] for e in audit if e["actor"] == "console:admin1" and e["action"].startswith("webhook.")]
            assert sorted(mine) == ["webhook.paused", "webhook.redelivered", "webhook.resumed"]
            # Bad requests and other tenants.
            assert (await admin.post("/console/t/acme/webhooks", {"action": "redeliver", "event": "evt_x"})).status == 400
            assert (await admin.post("/console/t/acme/webhooks", {"action": "explode"})).status == 400
            assert (await admin.post("/console/t/acme/webhooks", {"action": "pause"}, xsrf=False)).status == 403
            other = await admin_client(g, "beta")
            assert (await other.get("/console/t/acme/webhooks")).status == 404
            assert (await other.post("/console/t/acme/webhooks", {"action": "pause"})).status == 404
            # acme's delivery through beta's own page: no such delivery there.
            assert (await other.post("/console/t/beta/webhooks", {"action": "redeliver", "event": ok})).status == 404
            assert 'id="empty"' in (await other.get("/console/t/beta/webhooks")).text
            assert len(receiver.requests) == 4


async def _is(g, event: str, state: str) -> bool:
    return (await state_of(g, event))[0] == state
