"""Decisions on the phone: approvers only, once each, never on a closed document; each one a
document.decision event (feed and signed webhook) and an audit entry; the inbox and 待办 count."""
from __future__ import annotations

from standardwebhooks import Webhook

from harness import Receiver, document, wait_for
from phone import sign_in
from wechat_env import Simulator


async def _setup(g, sim, logins, **overrides):
    created = await g.create_tenant("acme", **overrides)
    app_id = await sim.add_tenant_app("acme", g.base_url)
    phones = {login: await sign_in(g, sim.client, app_id, "acme", created["api_key"], login) for login in logins}
    return created, app_id, phones


async def test_decision_once_by_approvers_emits_event_webhook_and_audit(env):
    async with Simulator() as sim, Receiver() as receiver:
        async with env.gateway(wechat=sim.wechat(), security={"allow_private_webhooks": True}) as g:
            created, app_id, phones = await _setup(g, sim, ("alice", "bob", "eve"), webapi_url=receiver.url())
            key = created["api_key"]
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"], ["bob"]), token=key)
            alice, bob, eve = phones["alice"], phones["bob"], phones["eve"]
            r = await alice.request("POST", "/wx/acme/api/documents/PO-1/decision",
                                    {"decision": "approve", "comment": "同意"})
            assert r.status == 200, r.text
            assert r.json["can_decide"] is False and r.json["recipients"][0]["decision"] == "approve"
            again = await alice.request("POST", "/wx/acme/api/documents/PO-1/decision", {"decision": "reject"})
            assert again.status == 409
            assert (await bob.request("POST", "/wx/acme/api/documents/PO-1/decision",
                                      {"decision": "approve"})).status == 409       # cc cannot decide
            assert (await eve.request("POST", "/wx/acme/api/documents/PO-1/decision",
                                      {"decision": "approve"})).status == 404       # not a recipient
            assert (await eve.request("GET", "/wx/acme/api/documents/PO-1")).status == 404
            # The decision in the tenant API, the feed, the webhook and the audit log.
            got = (await g.request("GET", "/api/v1/acme/documents/PO-1", token=key)).json
            assert got["recipients"][0]["decision"] == "approve" and got["recipients"][0]["comment"] == "同意"
            feed = (await g.request("GET", "/api/v1/acme/events", token=key)).json["items"]
            decisions = [e for e in feed if e["type"] == "document.decision"]
            assert len(decisions) == 1
            assert decisions[0]["data"] == {"doc_id": "PO-1", "login": "alice", "decision": "approve",
                                            "comment": "同意", "decided_at": got["recipients"][0]["decided_at"]}

            async def hooked():
                return [r for r in receiver.requests if r["headers"]["Webhook-Id"] == decisions[0]["id"]]
            [request] = await wait_for(hooked)
            assert Webhook(created["webhook_secret"]).verify(request["body"], request["headers"]) == decisions[0]
            audit = (await g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
            entries = [a for a in audit if a["action"] == "document.decision"]
            assert len(entries) == 1 and entries[0]["actor"] == "alice" and entries[0]["subject"] == "PO-1"


async def test_validation_and_closed_documents(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            created, app_id, phones = await _setup(g, sim, ("alice",))
            key, alice = created["api_key"], phones["alice"]
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"]), token=key)
            for body in ({"decision": "maybe"}, {"decision": "approve", "comment": "x" * 501},
                         {"decision": "approve", "extra": 1}):
                assert (await alice.request("POST", "/wx/acme/api/documents/PO-1/decision", body)).status == 400
            assert (await alice.request("POST", "/wx/acme/api/documents/PO-1/decision",
                                        {"decision": "approve", "comment": "x" * 500})).status == 200
            await g.request("PUT", "/api/v1/acme/documents/PO-2", document(["alice"]), token=key)
            await g.request("POST", "/api/v1/acme/documents/PO-2/close", {"status": "withdrawn"}, token=key)
            r = await alice.request("POST", "/wx/acme/api/documents/PO-2/decision", {"decision": "approve"})
            assert r.status == 409
            # No session: 401; no XSRF token: 403.
            assert (await g.request("GET", "/wx/acme/api/inbox")).status == 401
            no_xsrf = await g.request("POST", "/wx/acme/api/documents/PO-1/decision", {"decision": "approve"},
                                      headers={"Cookie": f"gw_session={alice.cookies.get('gw_session', '')}"})
            assert no_xsrf.status == 403


async def test_inbox_order_and_pending_count(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            created, app_id, phones = await _setup(g, sim, ("alice",))
            key, alice = created["api_key"], phones["alice"]
            for doc_id, approvers, cc in (("A", ["alice"], []), ("B", [], ["alice"]), ("C", ["alice"], []),
                                          ("D", ["alice"], []), ("E", ["bob"], [])):
                await g.request("PUT", f"/api/v1/acme/documents/{doc_id}", document(approvers, cc), token=key)
            await alice.request("POST", "/wx/acme/api/documents/C/decision", {"decision": "reject"})
            await g.request("POST", "/api/v1/acme/documents/D/close", {"status": "approved"}, token=key)
            inbox = (await alice.request("GET", "/wx/acme/api/inbox")).json
            assert inbox["account"] == {"login": "alice", "name": "Alice", "kind": "employee", "position": "工程师"}
            assert [(d["id"], d["role"], d["status"]) for d in inbox["documents"]] == [
                ("A", "approver", "waiting"), ("C", "approver", "decided"), ("B", "cc", "cc")]
            assert set(inbox["documents"][0]) == {"id", "type", "title", "role", "status", "created_at",
                                                  "applicant", "applicant_name"}  # the last two: README
            view = (await alice.request("GET", "/wx/acme/api/documents/B")).json
            assert view["my_role"] == "cc" and view["can_decide"] is False and "delivery" not in str(view)
            tenant = g.gw.registry.get("acme")
            assert await g.gw.documents.pending_count(tenant, "o_alice") == 1
            assert await g.gw.documents.pending_count(tenant, "o_nobody") is None
            reply = await sim.client.push_text(app_id, "o_alice", "待办")
            assert "1" in str(reply.get("reply") or reply.get("body"))
