"""Sessions: the JWT in gw_session is refused when tampered, unsigned (alg none), signed with
another tenant's key, meant for another audience, expired or missing exp/iat; it dies at once
with its binding (logout, password change, reset, unbind, departure), also in another process."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from gateway.platform.clock import Clock
from gateway.accounts.sessions import tenant_key
from phone import Phone
from wechat_env import WeChatEnv, wechat_env

PW = "Tr0ub4dor&3x!"


async def signed_in(wx: WeChatEnv, login: str = "zhang", openid: str = "o_zhang", slug: str = "acme") -> Phone:
    await wx.put_account(login, PW, slug=slug)
    phone = wx.phone(slug)
    r = await phone.sign_in(login, PW, openid)
    assert r.status == 200, r.text
    return phone


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def with_token(phone: Phone, token: str) -> int:
    phone.cookies["gw_session"] = token
    return (await phone.me()).status


async def test_session_cookie_and_claims(env):
    async with wechat_env(env) as wx:
        phone = await signed_in(wx)
        token = phone.cookies["gw_session"]
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["alg"] == "HS256"
        claims = claims_of(token)
        assert claims["aud"] == "acme" and claims["sub"] == "zhang" and claims["oid"] == "o_zhang"
        assert claims["typ"] == "gw-session" and isinstance(claims["bid"], int) and isinstance(claims["acc"], int)
        assert claims["exp"] - claims["iat"] == 12 * 3600
        r = await phone.me()
        assert r.status == 200
        assert r.json["account"] == {"login": "zhang", "name": "用户 zhang", "kind": "employee", "position": "工程师"}
        assert r.json["must_change_password"] is False and r.json["allow_registration"] is False
        assert any("8" in rule for rule in r.json["policy"])


async def test_secure_cookie_when_public_url_is_https(env):
    async with wechat_env(env, server={"public_url": "https://wx.example.com"}) as wx:
        phone = wx.phone()
        await wx.put_account("zhang", PW)
        await wx.use_openid("acme", "o_1")
        r = await phone.get("/wx/acme/entry")
        assert "redirect_uri=https%3A%2F%2Fwx.example.com%2Fwx%2Facme%2Foauth" in r.headers["Location"]
        back = await phone.authorize(r.headers["Location"])
        r = await phone.get(back)
        assert all("secure" in h.lower() for h in r.headers.get_list("Set-Cookie"))
        r = await phone.api("login", {"login": "zhang", "password": PW})
        cookie = [h for h in r.headers.get_list("Set-Cookie") if h.startswith("gw_session=")][0].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_forged_tokens_are_refused(env):
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        phone = await signed_in(wx)
        good = phone.cookies["gw_session"]
        claims = claims_of(good)
        session_key = wx.g.gw.settings.security.session_key
        key_a, key_b = tenant_key(session_key, "acme"), tenant_key(session_key, "beta")
        now = int(time.time())
        header, payload, signature = good.split(".")
        cases = {
            "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
            "tampered payload": f"{header}.{b64({**claims, 'sub': 'boss', 'acc': claims['acc'] + 1})}.{signature}",
            "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
            "other tenant's key": jwt.encode(claims, key_b, algorithm="HS256"),
            "wrong audience": jwt.encode({**claims, "aud": "beta"}, key_a, algorithm="HS256"),
            "audience list": jwt.encode({**claims, "aud": ["acme", "beta"]}, key_a, algorithm="HS256"),
            "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, key_a, algorithm="HS256"),
            "no exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, key_a, algorithm="HS256"),
            "no iat": jwt.encode({k: v for k, v in claims.items() if k != "iat"}, key_a, algorithm="HS256"),
            "future iat": jwt.encode({**claims, "iat": now + 3600, "exp": now + 7200}, key_a, algorithm="HS256"),
            "too long-lived": jwt.encode({**claims, "exp": now + 86400 * 365}, key_a, algorithm="HS256"),
            "wrong typ": jwt.encode({**claims, "typ": "other"}, key_a, algorithm="HS256"),
            "HS512": jwt.encode(claims, key_a, algorithm="HS512"),
            "session key itself": jwt.encode(claims, session_key, algorithm="HS256"),
            "other binding": jwt.encode({**claims, "bid": claims["bid"] + 1}, key_a, algorithm="HS256"),
            "other openid": jwt.encode({**claims, "oid": "o_other"}, key_a, algorithm="HS256"),
            "garbage": "not-a-jwt",
        }
        for name, token in cases.items():
            assert await with_token(phone, token) == 401, name
        assert await with_token(phone, jwt.encode(claims, key_a, algorithm="HS256")) == 200  # control
        # Tenant A's real session is worthless at tenant B.
        beta = wx.phone("beta")
        beta.cookies["gw_session"] = good
        assert (await beta.me()).status == 401
        assert (await with_token(phone, good)) == 200


async def test_session_expires_on_the_gateway_clock(env):
    clock = Clock()
    async with wechat_env(env, clock=clock) as wx:
        phone = await signed_in(wx)
        clock.advance(12 * 3600 - 60)
        assert (await phone.me()).status == 200
        clock.advance(61)
        assert (await phone.me()).status == 401


async def test_logout_then_replaying_the_old_cookie_is_refused(env):
    async with wechat_env(env) as wx:
        phone = await signed_in(wx)
        old = phone.cookies["gw_session"]
        r = await phone.api("logout")
        assert r.status == 200 and r.json == {"ok": True}
        assert "gw_session" not in phone.cookies
        assert await with_token(phone, old) == 401
        assert (await phone.api("logout")).status == 401
        r = await phone.get("/wx/acme/entry")
        assert r.status == 302 and r.headers["Location"].startswith(wx.sim_url)  # asks WeChat again
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["bound"] is False


async def test_password_change_ends_every_binding(env):
    async with wechat_env(env) as wx:
        phone = await signed_in(wx)
        r = await phone.api("password", {"old_password": "wrong-one-here", "new_password": "N3w-Passw0rd-!"})
        assert r.status == 403 and r.json["error"]["code"] == "forbidden"
        r = await phone.api("password", {"new_password": "N3w-Passw0rd-!"})
        assert r.status == 403
        r = await phone.api("password", {"old_password": PW}, xsrf=True)
        assert r.status == 400
        r = await phone.api("password", {"old_password": PW, "new_password": "N3w-Passw0rd-!"}, xsrf=False)
        assert r.status == 403 and (await phone.me()).status == 200  # no XSRF token: nothing changed
        r = await phone.api("password", {"old_password": PW, "new_password": "short"})
        assert r.status == 400 and r.json["error"]["code"] == "weak_password"
        assert r.json["error"]["details"]["rule"] == "too_short"
        r = await phone.api("password", {"old_password": PW, "new_password": "password123"})
        assert r.status == 400 and r.json["error"]["details"]["rule"] in ("common", "contains_context")
        old = phone.cookies["gw_session"]
        r = await phone.api("password", {"old_password": PW, "new_password": "N3w-Passw0rd-!"})
        assert r.status == 200 and r.json == {"ok": True, "signed_in": False}
        assert await with_token(phone, old) == 401
        again = wx.phone()
        r = await again.open_entry()
        assert "/wx/acme/login" in r.headers["Location"]  # the next entry asks for a login again
        assert (await again.api("login", {"login": "zhang", "password": PW})).status == 401
        assert (await again.api("login", {"login": "zhang", "password": "N3w-Passw0rd-!"})).status == 200
        reasons = [e["data"]["reason"] for e in await wx.events() if e["type"] == "account.unbound"]
        assert reasons == ["password_changed"]


async def test_admin_reset_forces_a_change_at_next_login(env):
    async with wechat_env(env, policy={"first_login_change_password": True}) as wx:
        await wx.put_account("zhang", PW)
        phone = wx.phone()
        r = await phone.sign_in("zhang", PW, "o_zhang")
        assert r.json == {"ok": True, "must_change_password": True}
        assert (await phone.me()).json["must_change_password"] is True
        r = await phone.get("/wx/acme/entry?next=inbox")
        assert r.headers["Location"] == "/wx/acme/password"
        # The JSON endpoints of other pages refuse until the password is changed.
        from handlers.session import SessionHandler

        class Probe(SessionHandler):
            async def get(self, slug: str) -> None:
                await self.require_session(slug)
                self.write_json({"ok": True})

        wx.g.server.request_callback.wildcard_router.add_rules([(r"/wx/(?P<slug>acme)/api/probe", Probe)])
        r = await phone.get("/wx/acme/api/probe")
        assert r.status == 403 and r.json["error"]["code"] == "password_change_required"
        r = await phone.api("password", {"old_password": PW, "new_password": "N3w-Passw0rd-!"})
        # The forced change completes the sign-in (README: first sign-in in one step).
        assert r.status == 200 and r.json == {"ok": True, "signed_in": True}
        assert (await phone.get("/wx/acme/api/probe")).status == 200
        assert (await phone.me()).json["must_change_password"] is False
        # The administrator resets it: the session ends at once, the flag is back.
        old = phone.cookies["gw_session"]
        await wx.put_account("zhang", "Adm1n-Reset-#9")
        assert await with_token(phone, old) == 401
        r = await phone.sign_in("zhang", "Adm1n-Reset-#9")
        assert r.json["must_change_password"] is True
        reasons = [e["data"]["reason"] for e in await wx.events() if e["type"] == "account.unbound"]
        assert reasons == ["password_changed", "password_reset"]
        actions = [e["action"] for e in await wx.audit()]
        assert "password.reset" in actions and "password.changed" in actions


async def test_departure_and_unbind_kill_sessions_in_every_process(env):
    async with wechat_env(env) as wx:
        phone = await signed_in(wx)
        other = await signed_in(wx, "li", "o_li")
        async with env.gateway(settings=wx.g.gw.settings, drop=False) as g2:
            second = Phone(g2, "acme", cookies=dict(phone.cookies))  # the same browser, to the other process
            assert (await second.me()).status == 200
            r = await wx.tenant_api("POST", "/accounts/zhang/depart")
            assert r.status == 200 and r.json["status"] == "departed" and r.json["bound"] is False
            assert (await second.me()).status == 401  # the other process refuses it at once
            assert (await phone.me()).status == 401
            second_li = Phone(g2, "acme", cookies=dict(other.cookies))
            assert (await second_li.me()).status == 200
            r = await wx.tenant_api("POST", "/accounts/li/unbind")
            assert r.status == 200 and r.json["bound"] is False
            assert (await second_li.me()).status == 401
        reasons = {e["data"]["login"]: e["data"]["reason"] for e in await wx.events() if e["type"] == "account.unbound"}
        assert reasons == {"zhang": "departed", "li": "admin_unbind"}


async def test_me_and_policy_endpoints(env):
    async with wechat_env(env, policy={"allow_mobile_registration": True, "password_classes": ["digit"]}) as wx:
        phone = wx.phone()
        assert (await phone.me()).status == 401
        r = await phone.get("/wx/acme/api/policy")
        assert r.status == 200 and r.json["allow_registration"] is True
        assert any("数字" in rule for rule in r.json["rules"])
        assert (await phone.get("/wx/nobody/api/policy")).status == 404
