"""Notifications that wait for the binding: a recipient recorded `unbound` is sent once when the
account binds (sign-in, scan-to-bind), never for a closed document, once for two binds at once
(also from two gateways sharing storage), and once when the bind races with the document's PUT."""
from __future__ import annotations

import asyncio

from harness import document, wait_for
from phone import PASSWORD
from test_bind_qr import make_code, open_link, scan, token_of
from wechat_env import WeChatEnv, wechat_env


async def _deliveries(wx: WeChatEnv, doc_id: str) -> list[tuple[str, str, str]]:
    r = await wx.tenant_api("GET", f"/documents/{doc_id}")
    return [(x["login"], x["role"], x["delivery"]) for x in r.json["recipients"]]


async def _sent_to(wx: WeChatEnv, openid: str) -> list[dict]:
    return [s for s in await wx.sim.sent(wx.app_id) if s["touser"] == openid]


async def _settle(wx: WeChatEnv, doc_id: str) -> list[tuple[str, str, str]]:
    async def done() -> list[tuple[str, str, str]] | None:
        rows = await _deliveries(wx, doc_id)
        return rows if all(d != "queued" for _, _, d in rows) else None
    return await wait_for(done)


async def _outbox_rows(wx: WeChatEnv) -> int:
    return int(await wx.g.gw.storage.fetchval("SELECT COUNT(*) AS n FROM outbox") or 0)


async def test_sign_in_sends_what_waited_once_and_nothing_of_a_closed_document(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("bob", PASSWORD, name="鲍勃")
        await wx.put_account("carol", PASSWORD, name="卡罗尔")
        r = await wx.tenant_api("PUT", "/documents/PO-1", document(["bob"], ["bob", "carol"]))
        assert [n["status"] for n in r.json["notifications"]] == ["unbound", "unbound", "unbound"]
        r = await wx.tenant_api("PUT", "/documents/PO-2", document(["bob"], title="已撤回的单据"))
        assert r.json["notifications"][0]["status"] == "unbound"
        assert (await wx.tenant_api("POST", "/documents/PO-2/close", {"status": "withdrawn"})).status == 200
        await asyncio.sleep(0.3)
        assert await wx.sim.sent(wx.app_id) == []  # nobody bound: nothing went out

        phone = wx.phone()
        assert (await phone.sign_in("bob", PASSWORD, "o_bob")).status == 200
        assert await _settle(wx, "PO-1") == [("bob", "approver", "sent"), ("bob", "cc", "sent"),
                                              ("carol", "cc", "unbound")]
        sent = await _sent_to(wx, "o_bob")
        assert sorted(s["template_id"] for s in sent) == ["tpl_approver", "tpl_cc"]
        assert all(s["url"].endswith("/entry?next=doc/PO-1") for s in sent)
        # The closed document stays unsent; its recipient row says so.
        assert await _deliveries(wx, "PO-2") == [("bob", "approver", "unbound")]

        # Binding again (the same WeChat user, then another one replacing it) sends nothing more.
        again = wx.phone()
        assert (await again.sign_in("bob", PASSWORD, "o_bob", bound_ok=True)).status == 200
        other = wx.phone()
        assert (await other.sign_in("bob", PASSWORD, "o_bob2")).status == 200
        await asyncio.sleep(0.5)
        assert len(await wx.sim.sent(wx.app_id)) == 2 and await _outbox_rows(wx) == 2
        # A later PUT of the same document has nothing left to queue for bob.
        r = await wx.tenant_api("PUT", "/documents/PO-1", document(["bob"], ["bob", "carol"]))
        assert [n["status"] for n in r.json["notifications"]] == ["already_notified", "already_notified",
                                                                   "unbound"]


async def test_scan_to_bind_sends_what_waited(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name="张三")
        r = await wx.tenant_api("PUT", "/documents/PR-7", document(["zhangsan"]))
        assert r.json["notifications"][0]["status"] == "unbound"
        code = await make_code(wx)
        reply = await scan(wx, "o_zhang", code["ticket"])
        phone, _ = await open_link(wx, "o_zhang", reply)
        assert (await phone.api(f"bind/{token_of(reply)}/confirm")).status == 200
        assert await _settle(wx, "PR-7") == [("zhangsan", "approver", "sent")]
        assert [s["template_id"] for s in await _sent_to(wx, "o_zhang")] == ["tpl_approver"]


async def test_binds_at_once_send_once_also_from_two_gateways(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("bob", PASSWORD, name="鲍勃")
        for doc_id in ("PO-1", "PO-2", "PO-3"):
            await wx.tenant_api("PUT", f"/documents/{doc_id}", document(["bob"], ["bob"]))
        tenant = wx.tenant
        account_id = int(await wx.g.gw.storage.fetchval(
            "SELECT id FROM accounts WHERE tenant_id = ? AND login = 'bob'", (tenant.id,)))
        async with env.gateway(drop=False, wechat={"api_base": wx.sim_url, "oauth_base": wx.sim_url}) as second:
            second_tenant = second.gw.registry.require("acme")
            for i in range(6):
                await wx.sim.add_user(wx.app_id, f"o_bob{i}")
            binds = [gw.bindings.bind(t, account_id, "bob", f"o_bob{i}", "test")
                     for i, (gw, t) in enumerate([(wx.g.gw, tenant), (second.gw, second_tenant)] * 3)]
            results = await asyncio.gather(*binds, return_exceptions=True)
            assert any(isinstance(x, int) for x in results), results
            for doc_id in ("PO-1", "PO-2", "PO-3"):
                assert [d for _, _, d in await _settle(wx, doc_id)] == ["sent", "sent"]
        # Six recipient rows, each sent exactly once (to whichever openid held the binding at send time).
        sent = await wx.sim.sent(wx.app_id)
        assert len(sent) == len({s["client_msg_id"] for s in sent}) == 6
        assert await _outbox_rows(wx) == 6


async def test_a_bind_racing_with_the_put_still_releases(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("bob", PASSWORD, name="鲍勃")
        await wx.sim.add_user(wx.app_id, "o_bob")
        gw = wx.g.gw
        people = gw.documents.people

        class BindsAfterLookup:
            """The directory answers 'unbound', then bob binds before the PUT writes its rows."""
            async def recipients(self, t, logins):  # type: ignore[no-untyped-def]
                found = await people.recipients(t, logins)
                if "bob" in logins and found["bob"].openid is None:
                    await gw.bindings.bind(t, found["bob"].account_id, "bob", "o_bob", "test")
                return found

            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                return getattr(people, name)

        gw.documents.people = BindsAfterLookup()  # type: ignore[assignment]
        r = await wx.tenant_api("PUT", "/documents/PO-9", document(["bob"]))
        assert r.json["notifications"][0]["status"] == "unbound"  # what the PUT saw
        assert await _settle(wx, "PO-9") == [("bob", "approver", "sent")]
        assert len(await _sent_to(wx, "o_bob")) == 1


async def test_the_look_after_the_bind_commits_releases_a_row_written_meanwhile(env):
    """A PUT that committed after the bind's own look, and looked again before the bind committed,
    left an `unbound` row of a bound account: the bind's look after its commit releases it."""
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("bob", PASSWORD, name="鲍勃")
        await wx.sim.add_user(wx.app_id, "o_bob")
        gw, tenant = wx.g.gw, wx.tenant
        people = gw.documents.people
        before = await people.recipients(tenant, ["bob"])  # what both of the PUT's looks saw: unbound
        await gw.bindings.bind(tenant, before["bob"].account_id, "bob", "o_bob", "test")

        class Stale:
            async def recipients(self, t, logins):  # type: ignore[no-untyped-def]
                return before

            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                return getattr(people, name)

        gw.documents.people = Stale()  # type: ignore[assignment]
        r = await wx.tenant_api("PUT", "/documents/PO-7", document(["bob"]))
        assert r.json["notifications"][0]["status"] == "unbound"
        await asyncio.sleep(0.3)
        assert await _deliveries(wx, "PO-7") == [("bob", "approver", "unbound")]
        await gw.waiting.after_bound(tenant, before["bob"].account_id, 0)
        assert await _settle(wx, "PO-7") == [("bob", "approver", "sent")]
        await gw.waiting.after_bound(tenant, before["bob"].account_id, 0)  # again: nothing more
        await asyncio.sleep(0.3)
        assert len(await _sent_to(wx, "o_bob")) == 1
