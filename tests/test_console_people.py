"""The console's people pages over HTTP: the accounts page (search, kind and status filters,
pages on the id, tenant isolation), its confirmed and audited actions (reset with a one-time
password, unlock, unbind, depart, reactivate) and the pending self-registrations (approve, refuse)."""
from __future__ import annotations

import re


from console_client import ConsoleClient
from phone import PASSWORD
from wechat_env import WeChatEnv, wechat_env


async def admin_of(wx: WeChatEnv, slug: str = "acme") -> ConsoleClient:
    op = ConsoleClient(wx.g)
    await op.sign_in_operator()
    password = await op.create_admin(slug, "alice")
    admin = ConsoleClient(wx.g)
    await admin.sign_in_admin(slug, "alice", password)
    return admin


def logins(page: str) -> list[str]:
    return re.findall(r'<tr data-login="([^"]+)"', page)


async def act(admin: ConsoleClient, login: str, action: str, path: str = "/console/t/acme/people") -> str:
    """Ask, check that asking did nothing but ask, then confirm; returns the answer page."""
    asked = await admin.post(path, {"login": login, "action": action})
    assert asked.status == 200 and 'id="question"' in asked.text, asked.text
    done = await admin.post(path, {"login": login, "action": action, "confirm": "1"})
    assert done.status == 200, done.text
    return done.text


async def test_accounts_page_searches_filters_and_pages(env) -> None:
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        await wx.put_account("zhang", name="张三", position="采购经理")
        await wx.put_account("li", name="李四", position="会计")
        await wx.put_account("wang", name="王五", position="工程师", kind="customer")
        await wx.put_account("gone", name="赵六", active=False)
        await wx.put_account("other", name="别家的人", slug="beta")
        phone = wx.phone()
        assert (await phone.sign_in("li", PASSWORD, openid="o_li")).status == 200
        admin = await admin_of(wx)
        page = await admin.get("/console/t/acme/people")
        assert page.status == 200 and "人员账号" in page.text
        assert logins(page.text) == ["zhang", "li", "wang", "gone"]  # never another tenant's
        assert "别家的人" not in page.text
        row_li = page.text.split('data-login="li"')[1].split("</tr>")[0]
        assert "已绑定" in row_li and "自 " in row_li and "从未登录" not in row_li
        row_zhang = page.text.split('data-login="zhang"')[1].split("</tr>")[0]
        assert "未绑定" in row_zhang and "从未登录" in row_zhang and "采购经理" in row_zhang
        for query, expected in (("q=%E9%87%87%E8%B4%AD", ["zhang"]), ("q=ZHANG", ["zhang"]), ("q=%E6%9D%8E", ["li"]),
                                ("q=%25", []), ("q=_", []), ("kind=customer", ["wang"]),
                                ("status=departed", ["gone"]), ("status=bound", ["li"]),
                                ("status=never", ["zhang", "wang", "gone"]), ("status=pending", []),
                                ("status=active&kind=employee", ["zhang", "li"]), ("status=bogus", None)):
            found = logins((await admin.get(f"/console/t/acme/people?{query}")).text)
            assert found == (expected if expected is not None else ["zhang", "li", "wang", "gone"]), query
        for n in range(55):
            await wx.put_account(f"p{n:02d}", password=None)
        first = await admin.get("/console/t/acme/people?status=active")
        assert len(logins(first.text)) == 50
        after = re.search(r'id="next-page" href="([^"]+)"', first.text)
        assert after, "a next page link"
        second = await admin.get("/console/t/acme/people" + after.group(1).replace("&amp;", "&"))
        rest = logins(second.text)
        assert len(rest) == 58 - 50 and not set(rest) & set(logins(first.text)) and 'id="next-page"' not in second.text
        for url in ("/console/t/beta/people", "/console/t/beta/people/pending"):
            assert (await admin.get(url)).status == 404
            assert (await admin.post(url, {"login": "other", "action": "depart", "confirm": "1"})).status == 404
        # Another tenant's login through this tenant's own page: no such account here.
        assert (await admin.post("/console/t/acme/people", {"login": "other", "action": "depart",
                                                             "confirm": "1"})).status == 404
        assert (await wx.tenant_api("GET", "/accounts/other", slug="beta")).json["status"] == "active"
        assert (await admin.get("/console/lang?to=en&next=/console/t/acme/people")).status == 302
        english = await admin.get("/console/t/acme/people")
        assert "Reset password" in english.text and "Never signed in" in english.text and "重置密码" not in english.text
        assert (await admin.post("/console/t/acme/people", {"login": "zhang", "action": "explode"})).status == 400
        assert (await admin.post("/console/t/acme/people", {"login": "zhang", "action": "depart"},
                                 xsrf=False)).status == 403


async def test_actions_are_confirmed_audited_and_take_effect(env) -> None:
    async with wechat_env(env, policy={"max_login_failures": 2, "first_login_change_password": True}) as wx:
        await wx.put_account("zhang", name="张三")
        phone = wx.phone()
        assert (await phone.sign_in("zhang", PASSWORD, openid="o_zhang")).status == 200
        assert (await phone.me()).status == 200
        admin = await admin_of(wx)
        # Asking changes nothing.
        await admin.post("/console/t/acme/people", {"login": "zhang", "action": "reset"})
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is True
        done = await admin.post("/console/t/acme/people", {"login": "zhang", "action": "reset", "confirm": "1"})
        shown = re.search(r'id="secret-0">([^<]+)<', done.text)
        assert done.status == 200 and shown and "只显示这一次" in done.text
        new_password = shown.group(1)
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is False
        assert (await phone.me()).status == 401  # the phone's session ended with its binding
        again = await admin.get("/console/t/acme/people")
        assert new_password not in again.text
        other = wx.phone()
        assert (await other.sign_in("zhang", PASSWORD, openid="o_zhang2")).status == 401
        assert (await other.api("login", {"login": "zhang", "password": new_password})).status == 200
        assert (await other.me()).json["must_change_password"] is True
        # Lock by wrong passwords, then unlock.
        locker = wx.phone()
        await locker.sign_in("zhang", "wrong-one-1", openid="o_x")
        await locker.api("login", {"login": "zhang", "password": "wrong-one-2"})
        page = await admin.get("/console/t/acme/people?status=locked")
        assert logins(page.text) == ["zhang"] and 'data-action="unlock"' in page.text
        assert "已解锁" in await act(admin, "zhang", "unlock")
        assert logins((await admin.get("/console/t/acme/people?status=locked")).text) == []
        assert "已解除微信绑定" in await act(admin, "zhang", "unbind")
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is False
        assert "已标记为离职" in await act(admin, "zhang", "depart")
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["status"] == "departed"
        refused = wx.phone()
        assert (await refused.sign_in("zhang", new_password, openid="o_y")).status == 403
        assert "已恢复账号" in await act(admin, "zhang", "reactivate")
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["status"] == "active"
        audit = [(e["actor"], e["action"]) for e in await wx.audit() if e["actor"] == "console:alice"]
        for action in ("password.reset", "account.unlocked", "account.departed", "account.activated"):
            assert ("console:alice", action) in audit, action
        assert audit.count(("console:alice", "account.unbound")) == 2  # the reset's and the unbind's
        for event in await wx.audit():
            assert new_password not in str(event)


async def test_pending_registrations_are_approved_or_refused(env) -> None:
    async with wechat_env(env, policy={"allow_mobile_registration": True}) as wx:
        await wx.put_account("zhang")
        for login, openid in (("li", "o_li"), ("wu", "o_wu")):
            phone = wx.phone()
            await wx.use_openid("acme", openid)
            await phone.open_entry("register")
            assert (await phone.api("register", {"login": login, "name": login.upper(),
                                                 "password": PASSWORD})).status in (200, 201, 202)
        admin = await admin_of(wx)
        page = await admin.get("/console/t/acme/people/pending")
        assert page.status == 200 and logins(page.text) == ["li", "wu"]
        assert 'data-action="approve"' in page.text and 'data-action="refuse"' in page.text
        path = "/console/t/acme/people/pending"
        assert "已批准" in await act(admin, "li", "approve", path)
        assert (await wx.tenant_api("GET", "/accounts/li")).json["status"] == "active"
        assert "已拒绝" in await act(admin, "wu", "refuse", path)
        assert (await wx.tenant_api("GET", "/accounts/wu")).status == 404
        assert 'id="empty"' in (await admin.get(path)).text
        # Only a pending registration can be refused: an active account is left alone.
        conflict = await admin.post(path, {"login": "zhang", "action": "refuse", "confirm": "1"})
        assert conflict.status == 409 and "状态已经变了" in conflict.text
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["status"] == "active"
        actions = [(e["actor"], e["action"], e["subject"]) for e in await wx.audit()]
        assert ("console:alice", "account.approved", "li") in actions
        assert ("console:alice", "account.refused", "wu") in actions
        # The refused login is free again.
        phone = wx.phone()
        await wx.use_openid("acme", "o_wu2")
        await phone.open_entry("register")
        assert (await phone.api("register", {"login": "wu", "name": "WU", "password": PASSWORD})).status < 300
