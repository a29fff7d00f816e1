"""The phone's history (GET /wx/{slug}/api/history): what an account decided or commented on and
the closed documents it received, newest first, paged like every collection; closed documents stay
readable for the tenant's retention period, then 404; times in the tenant's time zone; the `phone`
settings validated."""
from __future__ import annotations

from harness import document
from phone import put_account, sign_in
from wechat_env import Simulator


async def _setup(g, sim, logins, **overrides):
    created = await g.create_tenant("acme", **overrides)
    key = created["api_key"]
    app_id = await sim.add_tenant_app("acme", g.base_url)
    phones = {login: await sign_in(g, sim.client, app_id, "acme", key, login) for login in logins}
    return key, phones


async def _history(phone, query=""):
    r = await phone.get(f"/wx/acme/api/history{query}")
    assert r.status == 200, r.text
    return r.json


async def test_history_lists_what_was_handled_newest_first_and_pages(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, phones = await _setup(g, sim, ("alice", "bob"))
            alice, bob = phones["alice"], phones["bob"]
            put = [("PO-1", ["alice"], []), ("PO-2", ["alice"], []), ("PO-3", ["bob"], ["alice"]),
                   ("PO-4", ["alice"], []), ("PO-5", ["bob"], ["alice"]), ("PO-6", ["alice"], ["alice"])]
            for doc_id, approvers, cc in put:
                r = await g.request("PUT", f"/api/v1/acme/documents/{doc_id}", document(approvers, cc,
                                    title=f"单据 {doc_id}"), token=key)
                assert r.status == 201
            decide = "/wx/acme/api/documents/{}/decision"
            assert (await alice.post(decide.format("PO-1"), {"decision": "approve"})).status == 200
            assert (await alice.post(decide.format("PO-2"), {"decision": "reject", "comment": "预算不足"})).status == 200
            assert (await alice.post("/wx/acme/api/documents/PO-3/comments", {"comment": "知悉"})).status == 201
            assert (await alice.post(decide.format("PO-6"), {"decision": "approve"})).status == 200
            await g.request("POST", "/api/v1/acme/documents/PO-5/close", {"status": "approved"}, token=key)
            await g.request("POST", "/api/v1/acme/documents/PO-2/close", {"status": "rejected"}, token=key)

            page = await _history(alice)
            assert [i["id"] for i in page["items"]] == ["PO-6", "PO-5", "PO-3", "PO-2", "PO-1"]
            assert page["next_after"] is None
            items = {i["id"]: i for i in page["items"]}
            assert set(items["PO-1"]) == {"id", "type", "title", "role", "my_decision", "decided_at", "status",
                                          "closed_at", "commented", "commented_at"}
            assert (items["PO-1"]["my_decision"], items["PO-1"]["status"], items["PO-1"]["closed_at"]) == (
                "approve", "open", None)
            assert items["PO-1"]["decided_at"].endswith("+08:00") and items["PO-1"]["title"] == "单据 PO-1"
            assert (items["PO-2"]["my_decision"], items["PO-2"]["status"]) == ("reject", "rejected")
            assert items["PO-2"]["closed_at"].endswith("+08:00")
            assert (items["PO-3"]["role"], items["PO-3"]["my_decision"], items["PO-3"]["commented"]) == (
                "cc", None, True)
            assert (items["PO-5"]["role"], items["PO-5"]["status"], items["PO-5"]["commented"]) == (
                "cc", "approved", False)
            assert items["PO-6"]["role"] == "approver"  # approver and copied: shown once, as approver

            one = await _history(alice, "?limit=1")
            assert [(i["id"], i["role"]) for i in one["items"]] == [("PO-6", "approver")] and one["next_after"] == "PO-6"
            first = await _history(alice, "?limit=2")
            assert [i["id"] for i in first["items"]] == ["PO-6", "PO-5"] and first["next_after"] == "PO-5"
            second = await _history(alice, "?limit=2&after=PO-5")
            assert [i["id"] for i in second["items"]] == ["PO-3", "PO-2"] and second["next_after"] == "PO-2"
            third = await _history(alice, "?limit=2&after=PO-2")
            assert [i["id"] for i in third["items"]] == ["PO-1"] and third["next_after"] is None
            for bad in ("?after=NOPE", "?limit=0", "?limit=x"):
                r = await alice.get(f"/wx/acme/api/history{bad}")
                assert r.status == 400 and r.json["error"]["code"] == "invalid", bad
            # bob approves nothing yet: only the closed PO-5 he was asked to approve.
            assert [i["id"] for i in (await _history(bob))["items"]] == ["PO-5"]
            assert (await g.request("GET", "/wx/acme/api/history")).status == 401
            # PO-4 still waits for alice: it is in her inbox, not in her history.
            inbox = (await alice.get("/wx/acme/api/inbox")).json["documents"]
            assert [d["id"] for d in inbox if d["status"] == "waiting"] == ["PO-4"]


async def test_closed_documents_readable_until_the_retention_period_ends(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, phones = await _setup(g, sim, ("alice",), phone={"retention_days": 30})
            alice = phones["alice"]
            for doc_id in ("PO-1", "PO-2"):
                await g.request("PUT", f"/api/v1/acme/documents/{doc_id}", document(["alice"]), token=key)
                await g.request("POST", f"/api/v1/acme/documents/{doc_id}/close", {"status": "withdrawn"}, token=key)
            doc = await alice.get("/wx/acme/api/documents/PO-1")
            assert doc.status == 200 and doc.json["my_state"] == "withdrawn" and doc.json["can_decide"] is False
            tenant = g.gw.registry.require("acme")
            # PO-1 closed 31 days ago, PO-2 29 days ago.
            for doc_id, days in (("PO-1", 31), ("PO-2", 29)):
                await g.gw.storage.execute("UPDATE documents SET closed_at = closed_at - ? WHERE tenant_id = ?"
                                           " AND doc_id = ?", (days * 86400, tenant.id, doc_id))
            gone = await alice.get("/wx/acme/api/documents/PO-1")
            assert gone.status == 404 and gone.json["error"]["code"] == "not_found"
            assert (await alice.post("/wx/acme/api/documents/PO-1/decision", {"decision": "approve"})).status == 404
            assert (await alice.get("/wx/acme/api/documents/PO-2")).status == 200
            assert [i["id"] for i in (await _history(alice))["items"]] == ["PO-2"]
            # The tenant API still has it: retention is the phone's.
            assert (await g.request("GET", "/api/v1/acme/documents/PO-1", token=key)).status == 200
            # A longer retention brings it back.
            assert (await g.admin("PATCH", "/admin/api/tenants/acme", {"phone": {"retention_days": 60}})).status == 200
            assert (await alice.get("/wx/acme/api/documents/PO-1")).status == 200


async def test_times_in_the_tenant_time_zone_and_settings_checked(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, phones = await _setup(g, sim, ("alice",))
            alice = phones["alice"]
            tenant = (await g.admin("GET", "/admin/api/tenants/acme")).json
            assert tenant["phone"] == {"retention_days": 180, "time_zone": "Asia/Shanghai"}
            await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice"]), token=key)
            doc = (await alice.get("/wx/acme/api/documents/PO-1")).json
            assert doc["submitted_at"] == "2024-01-01T15:01:00+08:00" and doc["time_zone"] == "Asia/Shanghai"
            assert doc["created_at"].endswith("+08:00")
            r = await g.admin("PATCH", "/admin/api/tenants/acme", {"phone": {"time_zone": "America/New_York"}})
            assert r.status == 200 and r.json["phone"] == {"retention_days": 180, "time_zone": "America/New_York"}
            doc = (await alice.get("/wx/acme/api/documents/PO-1")).json
            assert doc["submitted_at"] == "2024-01-01T02:01:00-05:00" and doc["time_zone"] == "America/New_York"
            assert doc["created_at"][-6:] in ("-05:00", "-04:00")
            inbox = (await alice.get("/wx/acme/api/inbox")).json["documents"]
            assert inbox[0]["created_at"][-6:] in ("-05:00", "-04:00")
            # A time at the edge of the calendar is shown as the business system wrote it.
            await g.request("PUT", "/api/v1/acme/documents/PO-2", document(["alice"],
                            submitted_at="9999-12-31T23:59:59-12:00"), token=key)
            edge = await alice.get("/wx/acme/api/documents/PO-2")
            assert edge.status == 200 and edge.json["submitted_at"] == "9999-12-31T23:59:59-12:00"
            # The tenant API keeps UTC.
            assert (await g.request("GET", "/api/v1/acme/documents/PO-1", token=key)).json["created_at"].endswith(
                "+00:00")
            for bad, word in (({"time_zone": "Mars/Olympus"}, "time_zone"), ({"time_zone": "../etc/passwd"}, "time_zone"),
                              ({"time_zone": 8}, "time_zone"), ({"retention_days": 0}, "retention_days"),
                              ({"retention_days": True}, "retention_days"), ({"retention_days": 3651}, "retention_days"),
                              ({"colour": "red"}, "colour"), ("soon", "phone")):
                r = await g.admin("PATCH", "/admin/api/tenants/acme", {"phone": bad})
                assert r.status == 400 and word in " ".join(r.json["error"]["details"]["problems"]), (bad, r.text)
            assert (await g.admin("GET", "/admin/api/tenants/acme")).json["phone"]["time_zone"] == "America/New_York"
