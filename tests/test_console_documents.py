"""The console's documents pages over HTTP: newest first with each recipient's delivery in words
and decision, pages on the id, one document's detail, "resend" for a failed or unbound delivery
(through DocumentService.resend, audited with the console actor), and tenant isolation."""
from __future__ import annotations

import re

from console_client import ConsoleClient
from harness import document, wait_for
from phone import put_account, sign_in
from wechat_env import Simulator


async def admin_client(g, slug: str) -> ConsoleClient:
    op = ConsoleClient(g)
    await op.sign_in_operator()
    password = await op.create_admin(slug, "admin1")
    admin = ConsoleClient(g)
    await admin.sign_in_admin(slug, "admin1", password)
    return admin


async def test_documents_show_deliveries_in_words_and_resend(env) -> None:
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key = (await g.create_tenant("acme"))["api_key"]
            await g.create_tenant("beta")
            app_id = await sim.add_tenant_app("acme", g.base_url)
            await sign_in(g, sim.client, app_id, "acme", key, "alice", openid="o_alice")
            await put_account(g, "acme", key, "bob", name="鲍勃")
            await g.gw.delivery.stop()  # deliveries are set by hand below
            for n in range(1, 33):
                r = await g.request("PUT", f"/api/v1/acme/documents/PO-{n}",
                                    document(["alice", "bob"], title=f"采购 第{n}单"), token=key)
                assert r.status == 201, r.text
            await g.gw.storage.execute("UPDATE outbox SET state = 'dead'")
            await g.gw.storage.execute("UPDATE document_recipients SET delivery = 'failed:not_subscribed'"
                                       " WHERE login = 'alice'")
            admin = await admin_client(g, "acme")
            page = await admin.get("/console/t/acme/documents")
            assert page.status == 200
            shown = re.findall(r'<tr data-doc="([^"]+)"', page.text)
            assert shown == [f"PO-{n}" for n in range(32, 2, -1)]  # 30 newest first
            assert "发送失败：对方没有关注服务号" in page.text and "没有绑定微信" in page.text and "鲍勃" in page.text
            more = re.search(r'id="next-page" href="([^"]+)"', page.text)
            assert more
            older = await admin.get("/console/t/acme/documents" + more.group(1))
            assert re.findall(r'<tr data-doc="([^"]+)"', older.text) == ["PO-2", "PO-1"]
            assert 'id="next-page"' not in older.text
            detail = await admin.get("/console/t/acme/documents/PO-1")
            assert detail.status == 200 and detail.text.count('data-action="resend"') == 2
            g.gw.delivery.start()
            done = await admin.post("/console/t/acme/documents/PO-1", {"login": "alice", "role": "approver"})
            assert done.status == 200 and "已重新排队发送" in done.text

            async def alice_delivery() -> str | None:
                r = await g.request("GET", "/api/v1/acme/documents/PO-1", token=key)
                found = {x["login"]: x["delivery"] for x in r.json["recipients"]}
                return found["alice"] if found["alice"] not in ("queued",) else None
            assert await wait_for(alice_delivery) in ("sent", "delivered")
            again = await admin.post("/console/t/acme/documents/PO-1", {"login": "alice", "role": "approver"})
            assert again.status == 409 and "不需要重发" in again.text
            still = await admin.post("/console/t/acme/documents/PO-1", {"login": "bob", "role": "approver"})
            assert still.status == 200  # queued again; still nobody bound, so unbound again
            detail = await admin.get("/console/t/acme/documents/PO-1")
            assert detail.text.count('data-action="resend"') == 1 and "没有绑定微信" in detail.text
            assert sim.state.call_count("cgi-bin/message/template/send") == 1
            audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
            resent = [(e["actor"], e["subject"]) for e in audit if e["action"] == "notification.resent"]
            assert resent == [("console:admin1", "PO-1")] * 2
            await g.request("POST", "/api/v1/acme/documents/PO-2/close", {"status": "approved"}, token=key)
            closed = await admin.post("/console/t/acme/documents/PO-2", {"login": "bob", "role": "approver"})
            assert closed.status == 409 and "单据已经结束" in closed.text
            assert 'data-action="resend"' not in (await admin.get("/console/t/acme/documents/PO-2")).text
            assert (await admin.get("/console/t/acme/documents/PO-404")).status == 404
            await admin.get("/console/lang?to=en&next=/console/t/acme/documents")
            english = (await admin.get("/console/t/acme/documents/PO-1")).text
            assert "Not sent: this person has not bound WeChat" in english and "Resend" in english
            assert (await admin.post("/console/t/acme/documents/PO-1", {"login": "bob", "role": "approver"},
                                     xsrf=False)).status == 403
            other = await admin_client(g, "beta")
            assert (await other.get("/console/t/acme/documents")).status == 404
            assert (await other.get("/console/t/acme/documents/PO-1")).status == 404
            assert (await other.post("/console/t/acme/documents/PO-1", {"login": "bob", "role": "approver"})).status == 404
            assert (await other.get("/console/t/beta/documents/PO-1")).status == 404  # acme's document
            assert 'id="empty"' in (await other.get("/console/t/beta/documents")).text
