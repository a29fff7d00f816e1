"""Bindings: one active binding per account and per openid, also under concurrent binds; a
WeChat user switching accounts moves its binding; a new openid replaces the old one; every
change audited with its reason and emitted as account.bound / account.unbound; the lookups
(recipient, recipients, account_for_openid) other parts of the gateway use."""
from __future__ import annotations

import asyncio

from phone import Phone
from wechat_env import WeChatEnv, wechat_env

PW = "Tr0ub4dor&3x!"


async def login_page(wx: WeChatEnv, openid: str) -> Phone:
    phone = wx.phone()
    await wx.use_openid("acme", openid)
    r = await phone.open_entry()
    assert r.status == 302 and "/login" in r.headers["Location"], r.headers.get("Location")
    return phone


def active(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["ended_at"] is None]


async def test_bind_emits_event_audit_and_checklist_state(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await login_page(wx, "o_zhang")
        assert (await phone.api("login", {"login": "zhang", "password": PW})).status == 200
        view = (await wx.tenant_api("GET", "/accounts/zhang")).json
        assert view["bound"] is True and view["bound_at"].endswith("+00:00")
        events = [e for e in await wx.events() if e["type"].startswith("account.")]
        assert [(e["type"], e["data"]) for e in events] == [("account.bound", {"login": "zhang", "openid": "o_zhang"})]
        audit = [e for e in await wx.audit() if e["action"] == "account.bound"]
        assert audit and audit[0]["subject"] == "zhang" and audit[0]["detail"]["openid"] == "o_zhang"
        tenant = wx.g.gw.registry.require("acme")
        assert await wx.g.gw.state.get(tenant.id, "first_binding") is True


async def test_switching_account_moves_the_binding(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        await wx.put_account("li", PW)
        phone = await login_page(wx, "o_1")
        await phone.api("login", {"login": "zhang", "password": PW})
        old = phone.cookies["gw_session"]
        r = await phone.api("login", {"login": "li", "password": PW})  # with zhang's session
        assert r.status == 200
        assert (await phone.me()).json["account"]["login"] == "li"
        phone2 = wx.phone("acme", cookies={**phone.cookies, "gw_session": old})
        assert (await phone2.me()).status == 401
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is False
        rows = active(await wx.db_bindings())
        assert len(rows) == 1 and rows[0]["openid"] == "o_1"
        unbound = [e["data"] for e in await wx.events() if e["type"] == "account.unbound"]
        assert unbound == [{"login": "zhang", "openid": "o_1", "reason": "switched"}]
        reasons = [e["detail"]["reason"] for e in await wx.audit() if e["action"] == "account.unbound"]
        assert reasons == ["switched"]


async def test_new_openid_replaces_the_accounts_binding(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        first = await login_page(wx, "o_old_phone")
        await first.api("login", {"login": "zhang", "password": PW})
        second = await login_page(wx, "o_new_phone")
        assert (await second.api("login", {"login": "zhang", "password": PW})).status == 200
        assert (await first.me()).status == 401 and (await second.me()).status == 200
        rows = active(await wx.db_bindings())
        assert [r["openid"] for r in rows] == ["o_new_phone"]
        unbound = [e["data"] for e in await wx.events() if e["type"] == "account.unbound"]
        assert unbound == [{"login": "zhang", "openid": "o_old_phone", "reason": "rebound"}]


async def test_signing_in_again_keeps_one_binding(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await login_page(wx, "o_1")
        await phone.api("login", {"login": "zhang", "password": PW})
        await phone.api("login", {"login": "zhang", "password": PW})
        assert len(await wx.db_bindings()) == 1
        assert [e["type"] for e in await wx.events()] == ["account.bound"]


async def test_two_concurrent_binds_of_one_openid_leave_exactly_one(env):
    async with wechat_env(env) as wx:
        for login in ("a", "b", "c", "d"):
            await wx.put_account(login, PW)
        tenant = wx.g.gw.registry.require("acme")
        accounts = wx.g.gw.directory
        rows = {r.login: r.account_id for r in (await accounts.recipients(tenant, ["a", "b", "c", "d"])).values()}
        for round_ in range(5):
            openid = f"o_race_{round_}"
            await asyncio.gather(*(wx.g.gw.bindings.bind(tenant, rows[x], x, openid, actor=x) for x in rows))
            live = [r for r in active(await wx.db_bindings()) if r["openid"] == openid]
            assert len(live) == 1
        # and through HTTP: the same WeChat user posting two logins at once
        phone = await login_page(wx, "o_http")
        results = await asyncio.gather(phone.api("login", {"login": "a", "password": PW}),
                                       phone.api("login", {"login": "b", "password": PW}))
        assert all(r.status == 200 for r in results)
        live = [r for r in active(await wx.db_bindings()) if r["openid"] == "o_http"]
        assert len(live) == 1
        per_account: dict[int, int] = {}
        for r in active(await wx.db_bindings()):
            per_account[r["account_id"]] = per_account.get(r["account_id"], 0) + 1
        assert all(n == 1 for n in per_account.values())


async def test_concurrent_binds_of_one_account_on_two_openids(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        tenant = wx.g.gw.registry.require("acme")
        account_id = (await wx.g.gw.directory.recipient(tenant, "zhang")).account_id
        await asyncio.gather(*(wx.g.gw.bindings.bind(tenant, account_id, "zhang", f"o_{i}", "zhang")
                               for i in range(6)))
        assert len(active(await wx.db_bindings())) == 1


async def test_unbind_is_idempotent_and_rebinding_works(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await login_page(wx, "o_1")
        await phone.api("login", {"login": "zhang", "password": PW})
        for _ in range(2):
            r = await wx.tenant_api("POST", "/accounts/zhang/unbind")
            assert r.status == 200 and r.json["bound"] is False
        assert [e["type"] for e in await wx.events()] == ["account.bound", "account.unbound"]
        phone = await login_page(wx, "o_1")
        assert (await phone.api("login", {"login": "zhang", "password": PW})).status == 200
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is True
        assert len(active(await wx.db_bindings())) == 1


async def test_lookups_for_other_parts(env):
    async with wechat_env(env) as wx:
        await wx.put_account("Zhang", PW, name="张三")
        await wx.put_account("li", PW)
        await wx.put_account("wang", PW)
        await wx.tenant_api("POST", "/accounts/wang/depart")
        phone = await login_page(wx, "o_zhang")
        await phone.api("login", {"login": "zhang", "password": PW})
        tenant = wx.g.gw.registry.require("acme")
        accounts = wx.g.gw.directory
        calls = 0
        real = wx.g.gw.storage.fetchall

        async def counting(*args, **kwargs):
            nonlocal calls
            calls += 1
            return await real(*args, **kwargs)

        wx.g.gw.storage.fetchall = counting  # type: ignore[method-assign]
        try:
            found = await accounts.recipients(tenant, ["ZHANG", "li", "wang", "ghost", "ｌｉ"])
        finally:
            wx.g.gw.storage.fetchall = real  # type: ignore[method-assign]
        assert calls == 1
        z = found["ZHANG"]
        assert (z.login, z.status, z.openid, z.name) == ("Zhang", "active", "o_zhang", "张三")
        assert isinstance(z.account_id, int)
        assert found["li"].status == "active" and found["li"].openid is None
        assert found["ｌｉ"].account_id == found["li"].account_id
        assert found["wang"].status == "departed" and found["wang"].openid is None
        ghost = found["ghost"]
        assert (ghost.login, ghost.account_id, ghost.status, ghost.openid) == ("ghost", None, None, None)
        one = await accounts.recipient(tenant, "zhang")
        assert one.account_id == z.account_id
        by_openid = await accounts.account_for_openid(tenant, "o_zhang")
        assert by_openid is not None and by_openid.login == "Zhang"
        assert await accounts.account_for_openid(tenant, "o_nobody") is None
        many = await accounts.recipients(tenant, [f"user{i}" for i in range(1200)] + ["li"])
        assert many["li"].status == "active" and many["user5"].status is None


def between_check_and_bind(wx: WeChatEnv, action) -> None:  # type: ignore[no-untyped-def]
    """Run `action` after sign-in has checked the password and before it binds."""
    sign_in = wx.g.gw.sign_in
    real_check = sign_in.check

    async def check_then_act(*args, **kwargs):
        row = await real_check(*args, **kwargs)
        await action()
        return row

    sign_in.check = check_then_act  # type: ignore[method-assign]


async def test_a_depart_between_check_and_bind_leaves_no_binding(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await login_page(wx, "o_zhang")
        between_check_and_bind(wx, lambda: wx.tenant_api("POST", "/accounts/zhang/depart"))
        r = await phone.api("login", {"login": "zhang", "password": PW})
        assert r.status == 403 and r.json["error"]["code"] == "account_disabled"
        assert "gw_session" not in phone.cookies
        assert active(await wx.db_bindings()) == []
        view = (await wx.tenant_api("GET", "/accounts/zhang")).json
        assert view["status"] == "departed" and view["bound"] is False
        assert [e["type"] for e in await wx.events()] == []
        refused = [e for e in await wx.audit() if e["action"] == "login.refused"]
        assert refused and refused[-1]["detail"]["reason"] == "departed"


async def test_a_reset_between_check_and_bind_leaves_no_binding(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await login_page(wx, "o_zhang")
        between_check_and_bind(wx, lambda: wx.put_account("zhang", "An0ther-Passw0rd!"))
        r = await phone.api("login", {"login": "zhang", "password": PW})
        assert r.status == 401 and r.json["error"]["code"] == "bad_credentials"
        assert active(await wx.db_bindings()) == []
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is False


async def test_account_for_openid_ignores_accounts_no_longer_active(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", PW)
        phone = await login_page(wx, "o_zhang")
        assert (await phone.api("login", {"login": "zhang", "password": PW})).status == 200
        tenant = wx.g.gw.registry.require("acme")
        accounts = wx.g.gw.directory
        assert (await accounts.account_for_openid(tenant, "o_zhang")) is not None
        # A binding left over on an account that is not active (as a racing sign-in could leave).
        await wx.g.gw.storage.execute("UPDATE accounts SET status = 'departed' WHERE tenant_id = ?", (tenant.id,))
        assert await accounts.account_for_openid(tenant, "o_zhang") is None
