"""Comments on the phone: approvers and CC alike, on open documents only, 1 to 500 characters, 404
to others, session + XSRF; each a document.commented event (feed and signed webhook) with the
author's login and name. The document's timeline, people by name (login only where two names
collide), each recipient's state, and the hint that fits the document's type."""
from __future__ import annotations

from standardwebhooks import Webhook

from harness import Receiver, document, wait_for
from phone import Phone, put_account, sign_in
from wechat_env import Simulator


async def _setup(g, sim, people, **overrides):
    created = await g.create_tenant("acme", **overrides)
    key = created["api_key"]
    app_id = await sim.add_tenant_app("acme", g.base_url)
    phones = {}
    for login, name in people.items():
        await put_account(g, "acme", key, login, name=name)
        phones[login] = await sign_in(g, sim.client, app_id, "acme", key, login, create=False)
    return created, phones


def _comments(phone, doc_id):
    return f"/wx/acme/api/documents/{doc_id}/comments"


async def test_comments_by_approvers_and_cc_with_event_webhook_and_timeline(env):
    async with Simulator() as sim, Receiver() as receiver:
        async with env.gateway(wechat=sim.wechat(), security={"allow_private_webhooks": True}) as g:
            created, phones = await _setup(g, sim, {"alice": "王芳", "bob": "李强", "carol": "陈静", "eve": "赵敏"},
                                           webapi_url=receiver.url())
            key = created["api_key"]
            alice, bob, carol, eve = (phones[x] for x in ("alice", "bob", "carol", "eve"))
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice", "carol"], ["bob"]), token=key)

            r = await bob.post(_comments(bob, "PO-1"), {"comment": "  请补充报价单  "})
            assert r.status == 201, r.text
            assert r.json["login"] == "bob" and r.json["name"] == "李强" and r.json["role"] == "cc"
            assert r.json["comment"] == "请补充报价单" and r.json["commented_at"].endswith("+08:00")
            assert (await alice.post("/wx/acme/api/documents/PO-1/decision",
                                     {"decision": "approve", "comment": "同意"})).status == 200
            assert (await alice.post(_comments(alice, "PO-1"), {"comment": "已补充，见附件"})).status == 201

            doc = (await carol.get("/wx/acme/api/documents/PO-1")).json
            assert [(t["kind"], t["login"], t["display"], t["decision"], t["comment"]) for t in doc["timeline"]] == [
                ("comment", "bob", "李强", None, "请补充报价单"),
                ("decision", "alice", "王芳", "approve", "同意"),
                ("comment", "alice", "王芳", None, "已补充，见附件")]
            assert all(t["at"].endswith("+08:00") for t in doc["timeline"])
            assert [(x["login"], x["display"], x["role"]) for x in doc["recipients"]] == [
                ("alice", "王芳", "approver"), ("carol", "陈静", "approver"), ("bob", "李强", "cc")]
            assert doc["can_comment"] is True and doc["can_decide"] is True

            # Feed and webhook: one document.commented per comment, with login and name.
            feed = (await g.request("GET", "/api/v1/acme/events", token=key)).json["items"]
            commented = [e for e in feed if e["type"] == "document.commented"]
            assert [(e["data"]["login"], e["data"]["name"], e["data"]["role"], e["data"]["comment"])
                    for e in commented] == [("bob", "李强", "cc", "请补充报价单"), ("alice", "王芳", "approver", "已补充，见附件")]
            assert commented[0]["data"]["doc_id"] == "PO-1" and commented[0]["data"]["commented_at"]

            async def hooked():
                return [r for r in receiver.requests if r["headers"]["Webhook-Id"] == commented[0]["id"]]
            [request] = await wait_for(hooked)
            assert Webhook(created["webhook_secret"]).verify(request["body"], request["headers"]) == commented[0]
            audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
            assert [a["actor"] for a in audit if a["action"] == "document.commented"] == ["bob", "alice"]

            # Not a recipient: 404, and nothing stored.
            assert (await eve.post(_comments(eve, "PO-1"), {"comment": "我也说两句"})).status == 404
            assert (await eve.post(_comments(eve, "NOPE"), {"comment": "x"})).status == 404
            assert len((await carol.get("/wx/acme/api/documents/PO-1")).json["timeline"]) == 3


async def test_comment_rules_closed_length_session_and_xsrf(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            created, phones = await _setup(g, sim, {"alice": "王芳"})
            key, alice = created["api_key"], phones["alice"]
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"]), token=key)
            path = _comments(alice, "PO-1")
            for body in ({"comment": ""}, {"comment": "   "}, {"comment": "x" * 501}, {"comment": 5}, {},
                         {"comment": "ok", "extra": 1}, ["ok"]):
                r = await alice.post(path, body)
                assert r.status == 400 and r.json["error"]["code"] == "invalid", (body, r.text)
            assert (await alice.post(path, {"comment": "字" * 500})).status == 201
            assert (await alice.post(path, {"comment": "x"})).status == 201
            # No session: 401; no XSRF token: 403.
            assert (await Phone(g).post(path, {"comment": "x"})).status == 401
            no_xsrf = await g.request("POST", path, {"comment": "x"},
                                      headers={"Cookie": f"gw_session={alice.cookies['gw_session']}"})
            assert no_xsrf.status == 403
            await g.request("POST", "/api/v1/acme/documents/PO-1/close", {"status": "approved"}, token=key)
            closed = await alice.post(path, {"comment": "还能评论吗"})
            assert closed.status == 409 and closed.json["error"]["code"] == "conflict"
            doc = (await alice.get("/wx/acme/api/documents/PO-1")).json
            assert len(doc["timeline"]) == 2 and doc["can_comment"] is False
            feed = (await g.request("GET", "/api/v1/acme/events", token=key)).json["items"]
            assert len([e for e in feed if e["type"] == "document.commented"]) == 2


async def test_names_collide_state_follows_the_business_system_and_hints_fit_the_type(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            created, phones = await _setup(g, sim, {"zhangsan": "张三", "zhangsan2": "张三", "lisi": "李四",
                                                    "wangwu": "王五"})
            key = created["api_key"]
            body = document(["zhangsan", "zhangsan2"], ["lisi"], applicant="wangwu", type="请假申请",
                            title="年假 3 天")
            await g.request("PUT", "/api/v1/acme/documents/LV-1", body, token=key)
            lisi = phones["lisi"]
            doc = (await lisi.get("/wx/acme/api/documents/LV-1")).json
            assert [x["display"] for x in doc["recipients"]] == ["张三（zhangsan）", "张三（zhangsan2）", "李四"]
            assert doc["applicant_name"] == "王五" and doc["applicant"] == "wangwu"
            assert "休假" in doc["hints"]["decision"] and "采购" not in doc["hints"]["decision"] + doc["hints"]["comment"]
            assert doc["my_state"] == "open" and doc["my_role"] == "cc"
            # A text applicant that is no login is shown as written.
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["lisi"], applicant="外部供应商"), token=key)
            po = (await lisi.get("/wx/acme/api/documents/PO-1")).json
            assert po["applicant_name"] == "外部供应商" and "采购" in po["hints"]["decision"]
            assert [x["display"] for x in po["recipients"]] == ["李四"]
            inbox = {d["id"]: d for d in (await lisi.get("/wx/acme/api/inbox")).json["documents"]}
            assert (inbox["LV-1"]["applicant_name"], inbox["PO-1"]["applicant_name"]) == ("王五", "外部供应商")

            first, second = phones["zhangsan"], phones["zhangsan2"]
            assert (await first.get("/wx/acme/api/documents/LV-1")).json["my_state"] == "waiting"
            assert (await first.post("/wx/acme/api/documents/LV-1/decision", {"decision": "approve"})).status == 200
            assert (await first.get("/wx/acme/api/documents/LV-1")).json["my_state"] == "decided"
            assert (await second.get("/wx/acme/api/documents/LV-1")).json["my_state"] == "waiting"
            for status in ("rejected",):
                await g.request("POST", "/api/v1/acme/documents/LV-1/close", {"status": status}, token=key)
            for phone in (first, second, lisi):
                doc = (await phone.get("/wx/acme/api/documents/LV-1")).json
                assert doc["my_state"] == "rejected" and doc["status"] == "rejected" and doc["can_decide"] is False
