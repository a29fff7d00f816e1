"""Scan-to-bind through the tenant API, the simulator's QR codes and scans, and the confirmation
page: a bind-qr call to `bound`, and every refusal (expired, used, cancelled, another tenant's
code, another WeChat user, departed and pending accounts, WeChat down)."""
from __future__ import annotations

import asyncio
import re
from urllib.parse import quote, urlsplit

import pytest

from gateway.accounts.bind_qr import qr_png
from harness import wait_for
from phone import PASSWORD, Phone
from simulator.client import SimulatorError
from wechat_env import WeChatEnv, app_id_of, wechat_env

NAME = "张三"
_LINK = re.compile(r"https?://\S+")


async def make_code(wx: WeChatEnv, login: str = "zhangsan", slug: str | None = None) -> dict:
    r = await wx.tenant_api("POST", f"/accounts/{login}/bind-qr", slug=slug)
    assert r.status == 201, r.text
    return r.json  # type: ignore[no-any-return]


async def status_of(wx: WeChatEnv, ticket: str, slug: str | None = None) -> dict:
    r = await wx.tenant_api("GET", f"/bind-qr/{quote(ticket, safe='')}", slug=slug)
    assert r.status == 200, r.text
    return r.json  # type: ignore[no-any-return]


async def scan(wx: WeChatEnv, openid: str, ticket: str) -> str:
    """The user scans the code in WeChat; returns the passive reply's text."""
    pushed = await wx.sim.scan(openid, ticket)
    assert pushed["status"] == 200, pushed
    return str(pushed["reply"]["Content"]) if pushed.get("reply") else ""


def link_in(reply: str) -> str:
    found = _LINK.search(reply)
    assert found, reply
    parts = urlsplit(found.group(0))
    return f"{parts.path}?{parts.query}"


async def open_link(wx: WeChatEnv, openid: str, reply: str) -> tuple[Phone, object]:
    """The in-app browser of `openid` opens the reply's link: entry -> OAuth -> the bind page."""
    phone = wx.phone()
    await phone.use_openid(openid)
    r = await phone.get(link_in(reply))
    assert r.status == 302, r.text
    r = await phone.get(await phone.authorize(r.headers["Location"]))
    assert r.status == 302 and "/bind/" in r.headers["Location"], r.headers.get("Location")
    page = await phone.get(r.headers["Location"])
    return phone, page


def token_of(reply: str) -> str:
    return link_in(reply).rsplit("bind/", 1)[-1]


async def test_scan_to_bind_from_the_api_call_to_bound(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        assert code["status"] == "waiting" and code["login"] == "zhangsan" and code["scanned"] is False
        assert set(code) >= {"ticket", "qr_url", "image_url", "expires_at", "status"}
        created = wx.state.qrcodes.codes[code["ticket"]]
        assert created.url == code["qr_url"] and created.scene.startswith("bind:") and len(created.scene) == 37
        assert 595 <= created.expires_at - wx.state.now() <= 600
        image = await wx.g.request("GET", urlsplit(code["image_url"]).path + "?" + urlsplit(code["image_url"]).query)
        assert image.status == 200 and image.headers["Content-Type"] == "image/png"
        assert image.body.startswith(b"\x89PNG\r\n\x1a\n") and image.body == qr_png(code["qr_url"])

        reply = await scan(wx, "o_zhang", code["ticket"])  # o_zhang does not follow yet: subscribe + qrscene_
        assert reply.startswith(f"将此微信绑定到 {NAME}（zhangsan）？"), reply
        assert (await status_of(wx, code["ticket"]))["scanned"] is True
        phone, page = await open_link(wx, "o_zhang", reply)
        assert page.status == 200 and f"将此微信绑定到 {NAME}（zhangsan）？" in page.text
        assert "frame-ancestors" in page.headers["Content-Security-Policy"]

        r = await phone.api(f"bind/{token_of(reply)}/confirm")
        assert r.status == 200 and r.json["status"] == "bound" and r.json["login"] == "zhangsan", r.text
        assert (await phone.me()).json["account"]["login"] == "zhangsan"  # the session started
        done = await status_of(wx, code["ticket"])
        assert done["status"] == "bound" and done["finished_at"]
        assert (await wx.tenant_api("GET", "/accounts/zhangsan")).json["bound"] is True
        bound = [e["data"] for e in await wx.events() if e["type"] == "account.bound"]
        assert bound == [{"login": "zhangsan", "openid": "o_zhang"}]
        assert "bind_qr.confirmed" in [a["action"] for a in await wx.audit()]
        # The PNG of a finished code is gone; a second scan is told the code is used.
        assert (await wx.g.request("GET", urlsplit(code["image_url"]).path + "?" +
                                   urlsplit(code["image_url"]).query)).status == 404
        again = await scan(wx, "o_zhang", code["ticket"])  # now following: SCAN with the bare scene
        assert "已经用过" in again and "http" not in again
        assert (await phone.api(f"bind/{token_of(reply)}/confirm")).status == 403


async def test_scan_moves_an_earlier_binding_like_a_sign_in(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        await wx.put_account("lisi", PASSWORD, name="李四")
        first = await wx.phone().sign_in("lisi", PASSWORD, "o_shared")
        assert first.status == 200
        older = await make_code(wx)
        code = await make_code(wx)
        reply = await scan(wx, "o_shared", code["ticket"])
        phone, page = await open_link(wx, "o_shared", reply)
        assert page.status == 200
        assert (await phone.api(f"bind/{token_of(reply)}/confirm")).status == 200
        unbound = [e["data"] for e in await wx.events() if e["type"] == "account.unbound"]
        assert unbound == [{"login": "lisi", "openid": "o_shared", "reason": "switched"}]
        # Another code of the account still waiting can no longer bind anyone.
        assert (await status_of(wx, older["ticket"]))["status"] == "used"
        assert "已经用过" in await scan(wx, "o_other", older["ticket"])


async def test_expired_code(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        reply = await scan(wx, "o_zhang", code["ticket"])
        wx.advance(350)
        phone, page = await open_link(wx, "o_zhang", reply)
        assert page.status == 200
        wx.advance(251)  # the code's 10 minutes are over; the page's OAuth proof is still fresh
        assert (await status_of(wx, code["ticket"]))["status"] == "expired"
        r = await phone.api(f"bind/{token_of(reply)}/confirm")
        assert r.status == 403 and r.json["error"]["details"]["reason"] == "expired"
        assert "过期" in r.json["error"]["message"]
        assert (await wx.tenant_api("GET", "/accounts/zhangsan")).json["bound"] is False
        # WeChat itself pushes nothing for an expired code; a late push of its scene is told so.
        scene = wx.state.qrcodes.codes[code["ticket"]].scene
        now = int(wx.g.gw.clock.now())  # the gateway's clock moved on; WeChat signs with the present time
        pushed = await wx.sim.push_event(wx.app_id, "o_zhang", "SCAN", scene, timestamp=now, create_time=now)
        assert "已过期" in pushed["reply"]["Content"]
        assert (await wx.g.request("GET", urlsplit(code["image_url"]).path + "?" +
                                   urlsplit(code["image_url"]).query)).status == 404


async def test_cancelled_code(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        reply = await scan(wx, "o_zhang", code["ticket"])
        phone, _ = await open_link(wx, "o_zhang", reply)
        r = await phone.api(f"bind/{token_of(reply)}/cancel")
        assert r.status == 200 and r.json == {"status": "cancelled"}
        assert (await status_of(wx, code["ticket"]))["status"] == "cancelled"
        r = await phone.api(f"bind/{token_of(reply)}/confirm")
        assert r.status == 403 and r.json["error"]["details"]["reason"] == "cancelled"
        assert "已取消" in await scan(wx, "o_zhang", code["ticket"])
        assert (await wx.tenant_api("GET", "/accounts/zhangsan")).json["bound"] is False
        page = await phone.get(link_in(reply).replace("entry?next=bind/", "bind/"))
        assert page.status == 409 and "已取消" in page.text


async def test_only_the_wechat_user_who_scanned_may_confirm(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        reply = await scan(wx, "o_zhang", code["ticket"])
        assert "另一个微信" in await scan(wx, "o_stranger", code["ticket"])
        stranger, page = await open_link(wx, "o_stranger", reply)  # a forwarded link
        assert page.status == 403 and NAME not in page.text
        r = await stranger.api(f"bind/{token_of(reply)}/confirm")
        assert r.status == 403 and r.json["error"]["details"]["reason"] == "not_yours"
        nobody = wx.phone()  # no OAuth at all
        r = await nobody.api(f"bind/{token_of(reply)}/confirm")
        assert r.status == 401
        assert (await status_of(wx, code["ticket"]))["status"] == "waiting"
        assert not [b for b in await wx.db_bindings() if b["ended_at"] is None]


async def test_another_tenants_code(env):
    async with wechat_env(env, slugs=("acme", "beta"), reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        await wx.put_account("zhangsan", PASSWORD, slug="beta", name="Beta 张三")
        code = await make_code(wx)
        r = await wx.tenant_api("GET", f"/bind-qr/{quote(code['ticket'], safe='')}", slug="beta")
        assert r.status == 404 and r.json["error"]["code"] == "not_found"
        r = await wx.g.request("GET", f"/api/v1/acme/bind-qr/{quote(code['ticket'], safe='')}",
                               token=wx.keys["beta"])
        assert r.status == 403
        scene = wx.state.qrcodes.codes[code["ticket"]].scene
        pushed = await wx.sim.push_event(app_id_of("beta"), "o_x", "SCAN", scene)
        assert "无效" in pushed["reply"]["Content"]
        image = code["image_url"].replace("/wx/acme/", "/wx/beta/")
        assert (await wx.g.request("GET", urlsplit(image).path + "?" + urlsplit(image).query)).status == 404
        assert (await status_of(wx, code["ticket"]))["scanned"] is False


async def test_departed_and_pending_accounts_cannot_be_bound(env):
    async with wechat_env(env, reachable=True, policy={"allow_mobile_registration": True}) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        reply = await scan(wx, "o_zhang", code["ticket"])
        phone, _ = await open_link(wx, "o_zhang", reply)
        assert (await wx.tenant_api("POST", "/accounts/zhangsan/depart")).status == 200
        r = await phone.api(f"bind/{token_of(reply)}/confirm")
        assert r.status == 403 and r.json["error"]["details"]["reason"] == "departed"
        r = await wx.tenant_api("POST", "/accounts/zhangsan/bind-qr")
        assert r.status == 409 and r.json["error"]["details"]["status"] == "departed"
        assert (await wx.tenant_api("GET", "/accounts/zhangsan")).json["bound"] is False

        registrant = wx.phone()
        await registrant.use_openid("o_li")
        await registrant.open_entry("register")
        assert (await registrant.api("register", {"login": "li", "name": "李四", "password": PASSWORD})).status == 201
        r = await wx.tenant_api("POST", "/accounts/li/bind-qr")
        assert r.status == 409 and r.json["error"]["details"]["status"] == "pending"
        r = await wx.tenant_api("POST", "/accounts/nobody/bind-qr")
        assert r.status == 404
        assert (await wx.tenant_api("GET", "/bind-qr/gQnot-a-ticket")).status == 404


async def test_wechat_refusing_the_qr_code(env):
    async with wechat_env(env) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        await wx.sim.inject_fault("cgi-bin/qrcode/create", 48001, count=5)
        r = await wx.tenant_api("POST", "/accounts/zhangsan/bind-qr")
        assert r.status == 503 and r.json["error"]["details"]["errcode"] == 48001
        assert "access_token" not in r.text


async def test_simulator_qrcode_rules(env):
    async with wechat_env(env) as wx:
        from gateway.wechat.api.client import WeChatHttp
        http = WeChatHttp(wx.sim_url)
        token = await wx.g.gw.tokens.access_token(wx.tenant)
        bad = await http._fetch("POST", "cgi-bin/qrcode/create", {"access_token": token},
                                {"action_name": "QR_STR_SCENE", "action_info": {"scene_str": "no wrapper"}})
        assert bad["errcode"] == 40053
        bad = await http._fetch("POST", "cgi-bin/qrcode/create", {"access_token": token},
                                {"action_name": "QR_NOPE", "action_info": {"scene": {"scene_id": 1}}})
        assert bad["errcode"] == 40052
        ok = await http._fetch("POST", "cgi-bin/qrcode/create", {"access_token": token},
                               {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 7}}})
        assert ok["expire_seconds"] == 30 and ok["url"].startswith("http://weixin.qq.com/q/")


async def test_two_confirms_at_once_bind_once(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        reply = await scan(wx, "o_zhang", code["ticket"])
        phone, _ = await open_link(wx, "o_zhang", reply)
        answers = await asyncio.gather(*(phone.api(f"bind/{token_of(reply)}/confirm") for _ in range(4)))
        assert sorted(a.status for a in answers) == [200, 403, 403, 403]
        assert len([b for b in await wx.db_bindings() if b["ended_at"] is None]) == 1
        assert [e["type"] for e in await wx.events()].count("account.bound") == 1


async def test_a_scan_that_follows_records_the_follower_and_a_plain_scan_is_left_alone(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)
        pushed = await wx.sim.scan("o_new", code["ticket"])
        assert pushed["message"]["Event"] == "subscribe" and pushed["message"]["EventKey"].startswith("qrscene_bind:")
        assert pushed["message"]["Ticket"] == code["ticket"]

        async def followers() -> list[tuple[str, bool]]:  # written after the answer
            rows = await wx.g.gw.storage.fetchall("SELECT openid, subscribed FROM followers WHERE tenant_id = ?",
                                                  (wx.tenant.id,))
            return [(r["openid"], bool(r["subscribed"])) for r in rows]
        assert await wait_for(followers) == [("o_new", True)]
        # Another parametric code of the account (not a bind code): SCAN gets `success`, a follow the welcome.
        assert (await wx.sim.push_event(wx.app_id, "o_new", "SCAN", "poster-2026"))["body"] == "success"
        welcome = await wx.sim.push_event(wx.app_id, "o_other", "subscribe", "qrscene_poster-2026")
        assert welcome["reply"]["Content"].startswith("欢迎关注")
        # The simulator refuses scans WeChat would not deliver.
        with pytest.raises(SimulatorError):
            await wx.sim.scan("o_new", "gQno-such-code")
        with pytest.raises(SimulatorError):
            await wx.sim.scan("o_new", code["ticket"], app_id="wx0000000000000000")
        wx.advance(600)
        with pytest.raises(SimulatorError):
            await wx.sim.scan("o_new", code["qr_url"])


async def test_a_scan_is_answered_in_time_when_storage_hangs(env):
    async with wechat_env(env, reachable=True) as wx:
        await wx.put_account("zhangsan", PASSWORD, name=NAME)
        code = await make_code(wx)

        async def hanging(*args: object) -> str:
            await asyncio.sleep(10)
            return "never"
        wx.g.gw.bind_qr.scanned = hanging  # type: ignore[method-assign]
        started = asyncio.get_running_loop().time()
        reply = await scan(wx, "o_zhang", code["ticket"])
        assert asyncio.get_running_loop().time() - started < 4.5
        assert reply == "暂时无法处理这次扫码，请稍后再扫一次二维码。"
