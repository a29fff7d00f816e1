"""OAuth sign-in against the WeChat simulator over loopback: the entry redirect, state checks
(missing, forged, other browser, expired, replayed, other tenant), one code exchange, WeChat
errors, snapshot users."""
from __future__ import annotations

import secrets
from urllib.parse import parse_qs, quote, urlsplit

from gateway.platform.clock import Clock
from wechat_env import wechat_env


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_entry_redirects_to_the_authorize_url_exactly(env):
    async with wechat_env(env) as wx:
        phone = wx.phone()
        r = await phone.get("/wx/acme/entry?next=doc/PR-7")
        assert r.status == 302
        location = r.headers["Location"]
        state = query_of(location.split("#")[0])["state"]
        app_id = wx.app_id
        assert location == (f"{wx.sim_url}/connect/oauth2/authorize?appid={app_id}"
                            f"&redirect_uri={quote('http://127.0.0.1:8080/wx/acme/oauth', safe='')}"
                            f"&response_type=code&scope=snsapi_base&state={state}#wechat_redirect")
        assert len(state) == 32 and state.isalnum()
        assert "gw_oauth" in phone.cookies
        raw = [h for h in r.headers.get_list("Set-Cookie") if h.startswith("gw_oauth=")][0].lower()
        assert "httponly" in raw and "samesite=lax" in raw and "path=/wx/acme" in raw
        r2 = await phone.get("/wx/acme/entry?next=inbox")
        assert query_of(r2.headers["Location"].split("#")[0])["state"] != state  # fresh state per visit


async def test_next_is_kept_inside_the_tenants_pages(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", "Tr0ub4dor&3x!")
        phone = wx.phone()
        await phone.sign_in("zhang", "Tr0ub4dor&3x!", "o_zhang")
        cases = {"doc/PR-7": "/wx/acme/doc/PR-7", "password": "/wx/acme/password", "inbox": "/wx/acme/inbox",
                 "register": "/wx/acme/register", "https://evil.example/": "/wx/acme/inbox",
                 "//evil.example": "/wx/acme/inbox", "../../admin": "/wx/acme/inbox", "doc/../x": "/wx/acme/inbox",
                 "doc/a/b": "/wx/acme/inbox", "/wx/other/inbox": "/wx/acme/inbox", "": "/wx/acme/inbox"}
        for given, expected in cases.items():
            r = await phone.get(f"/wx/acme/entry?next={quote(given, safe='')}")
            assert r.status == 302 and r.headers["Location"] == expected, (given, r.headers.get("Location"))


async def test_bound_user_gets_a_session_unbound_goes_to_login(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", "Tr0ub4dor&3x!")
        phone = wx.phone()
        await wx.use_openid("acme", "o_zhang")
        r = await phone.open_entry("doc/PR-9")
        assert r.status == 302 and r.headers["Location"] == "/wx/acme/login?next=doc/PR-9"
        assert "gw_openid" in phone.cookies and "gw_session" not in phone.cookies
        raw = [h for h in r.headers.get_list("Set-Cookie") if h.startswith("gw_openid=")][0].lower()
        assert "httponly" in raw and "samesite=lax" in raw and "max-age=600" in raw
        r = await phone.api("login", {"login": "zhang", "password": "Tr0ub4dor&3x!"})
        assert r.status == 200 and r.json == {"ok": True, "must_change_password": False}
        assert "gw_session" in phone.cookies and "gw_openid" not in phone.cookies
        # A new browser of the same WeChat user: OAuth alone signs in now.
        other = wx.phone()
        r = await other.open_entry("doc/PR-9")
        assert r.status == 302 and r.headers["Location"] == "/wx/acme/doc/PR-9"
        raw = [h for h in r.headers.get_list("Set-Cookie") if h.startswith("gw_session=")][0].lower()
        assert "httponly" in raw and "samesite=lax" in raw and "secure" not in raw
        assert (await other.me()).json["account"]["login"] == "zhang"
        # With a session, entry goes straight to the page.
        r = await other.get("/wx/acme/entry?next=password")
        assert r.status == 302 and r.headers["Location"] == "/wx/acme/password"


async def test_state_missing_forged_other_browser_and_other_tenant_refused(env):
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        await wx.use_openid("acme", "o_1")
        phone = wx.phone()
        r = await phone.get("/wx/acme/entry")
        back = await phone.authorize(r.headers["Location"])
        code = query_of(back)["code"]
        for path in (f"/wx/acme/oauth?code={code}", f"/wx/acme/oauth?code={code}&state=" + "0" * 32,
                     f"/wx/acme/oauth?code={code}&state=<script>"):
            r = await phone.get(path)
            assert r.status == 400 and r.headers["Content-Type"].startswith("text/html")
            assert "/wx/acme/entry?next=inbox" in r.text and "<script>" not in r.text
        thief = wx.phone()  # another browser, without this one's gw_oauth cookie
        r = await thief.get(back)
        assert r.status == 400
        thief.cookies["gw_oauth"] = secrets.token_hex(16)
        assert (await thief.get(back)).status == 400
        # The state was minted for acme: beta refuses it even with acme's browser cookie.
        r = await phone.get(back.replace("/wx/acme/", "/wx/beta/"))
        assert r.status == 400
        assert await wx.sim.call_count("sns/oauth2/access_token") == 0
        r = await phone.get(back)  # the right browser still signs in
        assert r.status == 302 and "/wx/acme/login" in r.headers["Location"]


async def test_state_expires_after_ten_minutes(env):
    clock = Clock()
    async with wechat_env(env, clock=clock) as wx:
        await wx.use_openid("acme", "o_1")
        phone = wx.phone()
        r = await phone.get("/wx/acme/entry")
        back = await phone.authorize(r.headers["Location"])
        clock.advance(601)
        r = await phone.get(back)
        assert r.status == 400 and "expired" in r.text
        assert await wx.sim.call_count("sns/oauth2/access_token") == 0


async def test_same_redirect_twice_exchanges_once_and_leads_to_the_same_place(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", "Tr0ub4dor&3x!")
        phone = wx.phone()
        await phone.sign_in("zhang", "Tr0ub4dor&3x!", "o_zhang")
        fresh = wx.phone()
        r = await fresh.get("/wx/acme/entry?next=doc/D1")
        back = await fresh.authorize(r.headers["Location"])
        first = await fresh.get(back)
        second = await fresh.get(back)
        assert first.status == second.status == 302
        assert first.headers["Location"] == second.headers["Location"] == "/wx/acme/doc/D1"
        assert await wx.sim.call_count("sns/oauth2/access_token") == 2  # one per state, never twice for one
        assert (await fresh.me()).status == 200
        # The same state with another code is refused.
        other_code = await wx.sim.oauth_code(wx.app_id, "o_zhang")
        r = await fresh.get(f"/wx/acme/oauth?code={other_code}&state={query_of(back)['state']}")
        assert r.status == 400 and "already been used" in r.text
        assert await wx.sim.call_count("sns/oauth2/access_token") == 2


async def test_wechat_errors_on_exchange_give_a_plain_page_once(env):
    async with wechat_env(env) as wx:
        await wx.use_openid("acme", "o_1")
        for errcode, status in ((40029, 400), (40163, 400), (-1, 502)):
            phone = wx.phone()
            r = await phone.get("/wx/acme/entry")
            back = await phone.authorize(r.headers["Location"])
            before = await wx.sim.call_count("sns/oauth2/access_token")
            await wx.sim.inject_fault("sns/oauth2/access_token", errcode, 1)
            r = await phone.get(back)
            assert r.status == status, (errcode, r.text)
            assert r.headers["Content-Type"].startswith("text/html")
            assert "/wx/acme/entry?next=inbox" in r.text
            assert "gw_session" not in phone.cookies and "gw_openid" not in phone.cookies
            r = await phone.get(back)  # the browser retries: same page, no second exchange
            assert r.status == status
            assert await wx.sim.call_count("sns/oauth2/access_token") == before + 1
            assert query_of(back)["code"] not in r.text


async def test_snapshot_user_is_never_bound(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", "Tr0ub4dor&3x!")
        await wx.use_openid("acme", "o_snap", snapshot=True)
        phone = wx.phone()
        r = await phone.open_entry()
        assert r.status == 403 and "menu" in r.text
        assert "gw_openid" not in phone.cookies and "gw_session" not in phone.cookies
        r = await phone.api("login", {"login": "zhang", "password": "Tr0ub4dor&3x!"})
        assert r.status == 401
        assert await wx.db_bindings() == []


async def test_user_refusing_authorization_and_unknown_tenant(env):
    async with wechat_env(env) as wx:
        phone = wx.phone()
        r = await phone.get("/wx/acme/entry")
        state = query_of(r.headers["Location"].split("#")[0])["state"]
        r = await phone.get(f"/wx/acme/oauth?state={state}")  # WeChat returns only the state
        assert r.status == 400 and r.headers["Content-Type"].startswith("text/html")
        r = await phone.get("/wx/nobody/entry")
        assert r.status == 404 and r.headers["Content-Type"].startswith("text/html")


async def test_same_openid_string_in_two_tenants_is_two_identities(env):
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        await wx.put_account("zhang", "Tr0ub4dor&3x!", slug="acme")
        await wx.put_account("zhang", "Tr0ub4dor&3x!", slug="beta")
        a = wx.phone("acme")
        await a.sign_in("zhang", "Tr0ub4dor&3x!", "o_same")
        b = wx.phone("beta")
        await wx.use_openid("beta", "o_same")
        r = await b.open_entry()
        assert r.status == 302 and "/wx/beta/login" in r.headers["Location"]  # not signed in at beta
        assert (await wx.g.gw.directory.account_for_openid(wx.g.gw.registry.require("beta"), "o_same")) is None
        r = await b.api("login", {"login": "zhang", "password": "Tr0ub4dor&3x!"})
        assert r.status == 200
        await wx.tenant_api("POST", "/accounts/zhang/unbind", slug="beta")
        assert (await a.me()).status == 200  # acme's binding is untouched
        assert (await b.me()).status == 401


async def test_oauth_code_never_reaches_logs(env, caplog):
    import logging
    caplog.set_level(logging.DEBUG)
    async with wechat_env(env) as wx:
        await wx.use_openid("acme", "o_1")
        phone = wx.phone()
        r = await phone.get("/wx/acme/entry")
        back = await phone.authorize(r.headers["Location"])
        await wx.sim.inject_fault("sns/oauth2/access_token", 40029, 1)
        await phone.get(back)
        code = query_of(back)["code"]
        assert code not in caplog.text
