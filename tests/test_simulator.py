"""Tests for the WeChat simulator, spoken to over real HTTP on loopback like the gateway does."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from gateway.wechat.crypto import MessageCrypto, sha1_signature
from gateway.wechat.xmlmsg import build_message, parse_xml
from simulator.client import SimulatorClient, SimulatorError
from simulator.server import start_simulator
from simulator.state import SimulatorState
from simulator.templates import validate_data
from simulator.common import WxError

APP_ID = "wx1234567890abcdef"
SECRET = "s3cr3t-for-tests"
TOKEN = "echotoken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ORIGINAL_ID = "gh_7f083739789a"


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


@dataclass
class Sim:
    state: SimulatorState
    base: str
    client: SimulatorClient

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.fetch(path, params)
        assert response.code == 200
        data: dict[str, Any] = json.loads(response.body)
        return data

    async def post(self, path: str, body: Any, raw: bytes | None = None, **params: Any) -> dict[str, Any]:
        payload = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = await self.fetch(path, params, method="POST", body=payload)
        assert response.code == 200
        data: dict[str, Any] = json.loads(response.body)
        return data

    async def fetch(self, path: str, params: dict[str, Any], **kw: Any) -> HTTPResponse:
        url = f"{self.base}/{path}?{urlencode(params)}"
        return await AsyncHTTPClient().fetch(url, raise_error=False, follow_redirects=False, **kw)

    async def token(self, app_id: str = APP_ID, secret: str = SECRET) -> str:
        data = await self.get("cgi-bin/token", grant_type="client_credential", appid=app_id, secret=secret)
        token: str = data["access_token"]
        return token

    async def send(self, token: str, touser: str, data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        body = {"touser": touser, "template_id": "tpl1", "data": data or {"thing1": {"value": "采购申请单"}}, **extra}
        return await self.post("cgi-bin/message/template/send", body, access_token=token)


@contextlib.asynccontextmanager
async def simulator(**app_fields: Any) -> AsyncIterator[Sim]:
    state, server, port = await start_simulator(0)
    sim = Sim(state, f"http://127.0.0.1:{port}", SimulatorClient(f"http://127.0.0.1:{port}"))
    fields = {"secret": SECRET, "token": TOKEN, "encoding_aes_key": AES_KEY, "original_id": ORIGINAL_ID}
    await sim.client.add_app(APP_ID, **{**fields, **app_fields})
    await sim.client.add_user(APP_ID, "o_follower")
    await sim.client.add_user(APP_ID, "o_gone", subscribed=False)
    try:
        yield sim
    finally:
        server.stop()
        await server.close_all_connections()


def errcode(data: dict[str, Any]) -> int:
    return int(data.get("errcode", 0))


def assert_error(data: dict[str, Any], code: int) -> None:
    assert errcode(data) == code, data
    assert " rid: " in data["errmsg"]


# ---- access tokens --------------------------------------------------------------------------------


@async_test
async def test_token_overlap_then_not_latest_then_expired() -> None:
    async with simulator() as sim:
        first = await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret=SECRET)
        assert first["expires_in"] == 7200 and len(first["access_token"]) >= 64
        old = first["access_token"]
        assert (await sim.get("cgi-bin/user/info", access_token=old, openid="o_follower"))["subscribe"] == 1
        new = await sim.token()
        assert new != old
        await sim.client.advance_clock(299)
        assert errcode(await sim.get("cgi-bin/user/info", access_token=old, openid="o_follower")) == 0
        await sim.client.advance_clock(2)
        assert_error(await sim.get("cgi-bin/user/info", access_token=old, openid="o_follower"), 40001)
        assert errcode(await sim.get("cgi-bin/user/info", access_token=new, openid="o_follower")) == 0
        await sim.client.advance_clock(7200)
        assert_error(await sim.get("cgi-bin/user/info", access_token=new, openid="o_follower"), 42001)
        assert_error(await sim.get("cgi-bin/user/info", access_token="bogus", openid="o_follower"), 40001)
        assert_error(await sim.get("cgi-bin/user/info", openid="o_follower"), 41001)


@async_test
async def test_token_credential_errors_and_ip_whitelist() -> None:
    async with simulator() as sim:
        assert_error(await sim.get("cgi-bin/token", grant_type="client_credential", appid="wxnope", secret="x"), 40013)
        assert_error(await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret="x"), 40125)
        assert_error(await sim.get("cgi-bin/token", grant_type="password", appid=APP_ID, secret=SECRET), 40002)
        await sim.client.add_app(APP_ID, blocked_ip="1.2.3.4")
        data = await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret=SECRET)
        assert_error(data, 40164)
        assert data["errmsg"].startswith("invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: ")
        body = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
        assert_error(await sim.post("cgi-bin/stable_token", body), 40164)


@async_test
async def test_custom_token_ttl_is_reported_and_enforced() -> None:
    async with simulator(token_ttl=600) as sim:
        data = await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret=SECRET)
        assert data["expires_in"] == 600
        await sim.client.advance_clock(601)
        assert_error(await sim.get("cgi-bin/menu/get", access_token=data["access_token"]), 42001)


@async_test
async def test_stable_token_reuse_force_refresh_and_limits() -> None:
    async with simulator() as sim:
        # Start just after Beijing midnight so the 20-per-day count cannot roll over mid-test.
        since_midnight = (time.time() + 8 * 3600) % 86400
        await sim.client.advance_clock(86400 - since_midnight + 60)
        body = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
        first = await sim.post("cgi-bin/stable_token", body)
        classic = await sim.token()
        await sim.client.advance_clock(100)
        again = await sim.post("cgi-bin/stable_token", {**body, "force_refresh": False})
        assert again["access_token"] == first["access_token"]
        assert again["expires_in"] <= 7100
        forced = await sim.post("cgi-bin/stable_token", {**body, "force_refresh": True})
        assert forced["access_token"] != first["access_token"] and forced["expires_in"] == 7200
        assert_error(await sim.get("cgi-bin/menu/get", access_token=first["access_token"]), 40001)
        assert_error(await sim.get("cgi-bin/menu/get", access_token=forced["access_token"]), 46003)
        assert_error(await sim.get("cgi-bin/menu/get", access_token=classic), 46003)  # other family untouched
        assert_error(await sim.post("cgi-bin/stable_token", {**body, "force_refresh": True}), 45011)
        for _ in range(19):
            await sim.client.advance_clock(31)
            assert "access_token" in await sim.post("cgi-bin/stable_token", {**body, "force_refresh": True})
        await sim.client.advance_clock(31)
        assert_error(await sim.post("cgi-bin/stable_token", {**body, "force_refresh": True}), 45009)
        latest = await sim.post("cgi-bin/stable_token", body)
        info = await sim.get("cgi-bin/user/info", access_token=latest["access_token"], openid="o_follower")
        assert errcode(info) == 0
        assert_error(await sim.post("cgi-bin/stable_token", None, raw=b""), 44002)


@async_test
async def test_jsapi_ticket() -> None:
    async with simulator() as sim:
        token = await sim.token()
        data = await sim.get("cgi-bin/ticket/getticket", access_token=token, type="jsapi")
        assert data["errcode"] == 0 and data["errmsg"] == "ok" and data["expires_in"] == 7200 and data["ticket"]
        again = await sim.get("cgi-bin/ticket/getticket", access_token=token, type="jsapi")
        assert again["ticket"] == data["ticket"]
        await sim.client.advance_clock(7200)
        token = await sim.token()
        renewed = await sim.get("cgi-bin/ticket/getticket", access_token=token, type="jsapi")
        assert renewed["ticket"] != data["ticket"]
        assert_error(await sim.get("cgi-bin/ticket/getticket", access_token=token, type="nope"), 40097)
        assert_error(await sim.get("cgi-bin/ticket/getticket", access_token="x", type="jsapi"), 40001)


# ---- template messages ----------------------------------------------------------------------------


@async_test
async def test_template_send_records_and_rejects_bad_recipients() -> None:
    async with simulator() as sim:
        token = await sim.token()
        ok = await sim.send(token, "o_follower", url="https://example.com/a?id=1")
        assert ok["errcode"] == 0 and isinstance(ok["msgid"], int) and ok["msgid"] > 2**53
        assert_error(await sim.send(token, "o_gone"), 43004)
        assert_error(await sim.send(token, "o_stranger"), 40003)
        sent = await sim.client.sent(APP_ID)
        assert len(sent) == 1
        record = sent[0]
        assert record["touser"] == "o_follower" and record["msgid"] == ok["msgid"]
        assert record["url"] == "https://example.com/a?id=1"
        assert record["data"] == {"thing1": {"value": "采购申请单"}}
        await sim.client.add_app(APP_ID, templates=["tpl2"])
        assert_error(await sim.send(token, "o_follower"), 40037)
        escaped = json.dumps({"touser": "o_follower", "template_id": "tpl2", "data": {"thing1": {"value": "中"}}})
        escaped_reply = await sim.post("cgi-bin/message/template/send", None, raw=escaped.encode(), access_token=token)
        assert_error(escaped_reply, 40033)
        assert_error(await sim.post("cgi-bin/message/template/send", None, raw=b"{nope", access_token=token), 47001)


@async_test
async def test_template_value_too_long_is_47003_naming_the_field() -> None:
    async with simulator() as sim:
        token = await sim.token()
        data = await sim.send(token, "o_follower", {"thing1": {"value": "一" * 20}, "thing2": {"value": "x" * 21}})
        assert_error(data, 47003)
        assert data["errmsg"].startswith("argument invalid! data.thing2.value invalid rid: ")
        assert await sim.client.sent(APP_ID) == []


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("thing1", "x" * 20, True),
        ("thing1", "", False),
        ("character_string2", "PO-2024-0001", True),
        ("character_string2", "单号1", False),
        ("character_string2", "A" * 33, False),
        ("number3", "12.5", True),
        ("number3", "12a", False),
        ("letter4", "abc", True),
        ("letter4", "ab1", False),
        ("phrase5", "配送中", True),
        ("phrase5", "配送中配送中", False),
        ("phrase5", "ok", False),
        ("name6", "张三", True),
        ("name6", "张" * 11, False),
        ("name6", "x" * 20, True),
        ("time7", "2019年10月1日 15:01", True),
        ("time7", "15:01~16:00", True),
        ("time7", "", False),
        ("date8", "2019年10月1日", True),
        ("date8", "2024-01-01 ~ 2024-01-02", True),
        ("date8", "soon", False),
        ("amount9", "¥100.50", True),
        ("amount9", "100元", True),
        ("amount9", "¥12345678901", False),
        ("phone_number10", "+86-0766-66888866", True),
        ("phone_number10", "call me", False),
        ("car_number11", "粤A8Z8Z8", True),
        ("car_number11", "粤A8Z8Z8Z8Z", False),
        ("keyword1", "", True),
    ],
)
def test_template_value_rules(key: str, value: str, ok: bool) -> None:
    if ok:
        validate_data({key: {"value": value}})
    else:
        with pytest.raises(WxError) as info:
            validate_data({key: {"value": value}})
        assert info.value.errcode == 47003 and f"data.{key}.value" in info.value.text


@async_test
async def test_template_daily_quota() -> None:
    async with simulator(daily_template_quota=2) as sim:
        since_midnight = (time.time() + 8 * 3600) % 86400
        await sim.client.advance_clock(86400 - since_midnight + 60)
        token = await sim.token()
        assert errcode(await sim.send(token, "o_follower")) == 0
        assert errcode(await sim.send(token, "o_follower")) == 0
        assert_error(await sim.send(token, "o_follower"), 45009)
        await sim.client.advance_clock(86400)
        token = await sim.token()
        assert errcode(await sim.send(token, "o_follower")) == 0


@async_test
async def test_template_client_msg_id_dedupe() -> None:
    async with simulator() as sim:
        await sim.client.add_user(APP_ID, "o_other")
        token = await sim.token()
        first = await sim.send(token, "o_follower", client_msg_id="doc1:v1")
        again = await sim.send(token, "o_follower", client_msg_id="doc1:v1")
        assert again["errcode"] == 0 and again["msgid"] == first["msgid"]
        other = await sim.send(token, "o_other", client_msg_id="doc1:v1")
        assert other["msgid"] != first["msgid"]
        assert len(await sim.client.sent(APP_ID)) == 2
        await sim.client.advance_clock(601)
        later = await sim.send(token, "o_follower", client_msg_id="doc1:v1")
        assert later["msgid"] != first["msgid"]
        sent = await sim.client.sent(APP_ID)
        assert [s["client_msg_id"] for s in sent] == ["doc1:v1"] * 3


# ---- menus ------------------------------------------------------------------------------------------

CLICK = {"type": "click", "name": "今日", "key": "V1001"}


@pytest.mark.parametrize(
    ("buttons", "code"),
    [
        ([], 40016),
        ([CLICK] * 4, 40016),
        ([{"type": "bogus", "name": "x", "key": "k"}], 40017),
        ([{**CLICK, "name": "一二三四五六"}], 40018),
        ([{**CLICK, "key": ""}], 40019),
        ([{**CLICK, "key": "k" * 129}], 40019),
        ([{"type": "view", "name": "web"}], 40020),
        ([{"type": "view", "name": "web", "url": "https://e.com/" + "a" * 1024}], 40020),
        ([{"name": "more", "sub_button": [CLICK] * 6}], 40023),
        ([{"name": "more", "sub_button": [{**CLICK, "name": "n" * 61}]}], 40025),
        ([{"name": "more", "sub_button": [{**CLICK, "key": "k" * 129}]}], 40026),
        ([{"name": "more", "sub_button": [{"type": "view", "name": "v", "url": ""}]}], 40027),
        ([{"name": "more", "sub_button": [{"type": "nope", "name": "v"}]}], 40024),
    ],
)
@async_test
async def test_menu_create_validation(buttons: list[dict[str, Any]], code: int) -> None:
    async with simulator() as sim:
        token = await sim.token()
        assert_error(await sim.post("cgi-bin/menu/create", {"button": buttons}, access_token=token), code)
        assert await sim.client.menu(APP_ID) is None


@async_test
async def test_menu_create_get_delete() -> None:
    async with simulator() as sim:
        token = await sim.token()
        assert_error(await sim.get("cgi-bin/menu/get", access_token=token), 46003)
        menu = {
            "button": [
                CLICK,
                {
                    "name": "菜单",
                    "sub_button": [
                        {"type": "view", "name": "搜索", "url": "http://www.soso.com/"},
                        {"type": "click", "name": "n" * 60, "key": "k" * 128},
                    ],
                },
            ]
        }
        created = await sim.post("cgi-bin/menu/create", menu, access_token=token)
        assert created == {"errcode": 0, "errmsg": "ok"}
        shown = await sim.get("cgi-bin/menu/get", access_token=token)
        assert shown["menu"]["button"][0] == {**CLICK, "sub_button": []}
        assert shown["menu"]["button"][1]["sub_button"][0]["url"] == "http://www.soso.com/"
        assert await sim.client.menu(APP_ID) == shown["menu"]
        assert_error(await sim.get("cgi-bin/menu/create", access_token=token), 43002)
        assert errcode(await sim.get("cgi-bin/menu/delete", access_token=token)) == 0
        assert_error(await sim.get("cgi-bin/menu/get", access_token=token), 46003)


# ---- OAuth ------------------------------------------------------------------------------------------


async def authorize(sim: Sim, **params: str) -> HTTPResponse:
    query = {
        "appid": APP_ID,
        "redirect_uri": "https://gw.example.com/oauth/cb",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "xyz123",
        **params,
    }
    return await sim.fetch("connect/oauth2/authorize", query)


async def exchange(sim: Sim, code: str, secret: str = SECRET) -> dict[str, Any]:
    return await sim.get(
        "sns/oauth2/access_token", appid=APP_ID, secret=secret, code=code, grant_type="authorization_code"
    )


@async_test
async def test_authorize_redirects_with_code_and_state_for_current_user() -> None:
    async with simulator(oauth_domains=["gw.example.com"]) as sim:
        await sim.client.set_current_user(APP_ID, "o_follower")
        response = await authorize(sim)
        assert response.code == 302
        location = urlsplit(response.headers["Location"])
        assert (location.scheme, location.netloc, location.path) == ("https", "gw.example.com", "/oauth/cb")
        params = parse_qs(location.query)
        assert params["state"] == ["xyz123"] and params["code"][0]
        with_query = await authorize(sim, redirect_uri="https://gw.example.com/cb?tenant=t1")
        assert with_query.headers["Location"].startswith("https://gw.example.com/cb?tenant=t1&code=")
        token = await exchange(sim, params["code"][0])
        assert token["openid"] == "o_follower" and token["scope"] == "snsapi_base"
        assert token["expires_in"] == 7200 and token["access_token"] and token["refresh_token"]
        assert "is_snapshotuser" not in token


@async_test
async def test_authorize_page_errors_and_openid_chooser() -> None:
    async with simulator(oauth_domains=["gw.example.com"]) as sim:
        page = await authorize(sim, appid="wxunknown")
        assert page.code == 200 and b"10012" in page.body and b"text/html" in page.headers["Content-Type"].encode()
        page = await authorize(sim, redirect_uri="https://evil.example.com/cb")
        assert page.code == 200 and b"10003" in page.body
        page = await authorize(sim, scope="snsapi_login")
        assert page.code == 200 and b"10005" in page.body
        page = await authorize(sim)
        assert page.code == 200 and b'name="sim_openid"' in page.body and b"o_follower" in page.body
        chosen = await authorize(sim, sim_openid="o_newcomer")
        assert chosen.code == 302
        code = parse_qs(urlsplit(chosen.headers["Location"]).query)["code"][0]
        assert (await exchange(sim, code))["openid"] == "o_newcomer"
        token = await sim.token()
        assert_error(await sim.send(token, "o_newcomer"), 43004)  # authorized, but not a follower


@async_test
async def test_oauth_code_single_use_expiry_and_snapshot() -> None:
    async with simulator() as sim:
        code = await sim.client.oauth_code(APP_ID, "o_follower")
        assert_error(await exchange(sim, code, secret="wrong"), 40125)
        assert errcode(await exchange(sim, code)) == 0
        assert_error(await exchange(sim, code), 40163)
        stale = await sim.client.oauth_code(APP_ID, "o_follower")
        await sim.client.advance_clock(301)
        assert_error(await exchange(sim, stale), 40029)
        assert_error(await exchange(sim, "never-issued"), 40029)
        await sim.client.add_user(APP_ID, "o_snap", subscribed=False, snapshot=True)
        await sim.client.set_current_user(APP_ID, "o_snap")
        response = await authorize(sim, scope="snsapi_userinfo")
        snap_code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        token = await exchange(sim, snap_code)
        assert token["is_snapshotuser"] == 1 and token["scope"] == "snsapi_userinfo"


# ---- faults, counters, users -----------------------------------------------------------------------


@async_test
async def test_faults_hit_the_next_n_calls_only() -> None:
    async with simulator() as sim:
        await sim.client.add_app("wxother", secret="other")
        await sim.client.inject_fault("cgi-bin/token", -1, count=2)
        await sim.client.inject_fault("/cgi-bin/message/template/send", 45009, count=1, app_id="wxother")
        assert_error(await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret=SECRET), -1)
        assert_error(await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret=SECRET), -1)
        token = await sim.token()
        assert errcode(await sim.send(token, "o_follower")) == 0  # scoped to the other app
        assert (await sim.client.faults())["faults"][0]["app_id"] == "wxother"
        assert await sim.client.call_count("cgi-bin/token", APP_ID) == 3
        assert (await sim.client.calls())["cgi-bin/message/template/send"] == {APP_ID: 1}
        await sim.client.clear_faults()
        assert (await sim.client.faults())["faults"] == []


@async_test
async def test_invalidate_tokens_and_latency() -> None:
    async with simulator() as sim:
        token = await sim.token()
        result = await sim.client.invalidate_tokens(APP_ID)
        assert result["invalidated"] == 1
        assert_error(await sim.get("cgi-bin/menu/get", access_token=token), 40001)
        await sim.client.set_latency("cgi-bin/token", 0.3)
        started = time.monotonic()
        fresh = await sim.token()
        assert time.monotonic() - started >= 0.3
        assert_error(await sim.get("cgi-bin/menu/get", access_token=fresh), 46003)


@async_test
async def test_user_info() -> None:
    async with simulator() as sim:
        token = await sim.token()
        info = await sim.get("cgi-bin/user/info", access_token=token, openid="o_follower", lang="zh_CN")
        assert info["subscribe"] == 1 and info["openid"] == "o_follower" and info["subscribe_time"] > 0
        gone = await sim.get("cgi-bin/user/info", access_token=token, openid="o_gone")
        assert gone["subscribe"] == 0 and "subscribe_time" not in gone
        assert_error(await sim.get("cgi-bin/user/info", access_token=token, openid="o_stranger"), 40003)


@async_test
async def test_control_api_errors_reset_and_unknown_paths() -> None:
    async with simulator() as sim:
        with pytest.raises(SimulatorError):
            await sim.client.add_user("wxunknown", "o1")
        with pytest.raises(SimulatorError):
            await sim.client.add_app(APP_ID, message_mode="loud")
        missing = await sim.fetch("cgi-bin/nope", {})
        assert missing.code == 404
        await sim.client.reset()
        assert (await sim.client.apps())["apps"] == []
        assert_error(await sim.get("cgi-bin/token", grant_type="client_credential", appid=APP_ID, secret=SECRET), 40013)


# ---- pushes to a callback -------------------------------------------------------------------------


@dataclass
class EchoApp:
    """A minimal tenant callback: verifies like the gateway must, decrypts, and replies "echo: ..."."""

    crypto: MessageCrypto = field(default_factory=lambda: MessageCrypto(TOKEN, AES_KEY, APP_ID))
    received: list[dict[str, Any]] = field(default_factory=list)
    encrypt_replies: bool = True


class EchoHandler(tornado.web.RequestHandler):
    def initialize(self, echo: EchoApp) -> None:
        self.echo = echo

    def get(self) -> None:
        args = {k: self.get_query_argument(k) for k in ("signature", "timestamp", "nonce", "echostr")}
        if sha1_signature(TOKEN, args["timestamp"], args["nonce"]) != args["signature"]:
            raise tornado.web.HTTPError(403)
        self.write(args["echostr"])

    def post(self) -> None:
        query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
        timestamp, nonce = query["timestamp"], query["nonce"]
        assert sha1_signature(TOKEN, timestamp, nonce) == query["signature"]
        outer = parse_xml(self.request.body)
        encrypted = query.get("encrypt_type") == "aes"
        if encrypted:
            assert self.echo.crypto.msg_signature(timestamp, nonce, outer["Encrypt"]) == query["msg_signature"]
            fields = parse_xml(self.echo.crypto.decrypt(outer["Encrypt"]))
        else:
            fields = outer
        self.echo.received.append({"query": query, "outer": outer, "fields": fields, "raw": self.request.body})
        if fields["MsgType"] != "text":
            self.write("success")
            return
        reply = build_message(
            {
                "ToUserName": fields["FromUserName"],
                "FromUserName": fields["ToUserName"],
                "CreateTime": int(time.time()),
                "MsgType": "text",
                "Content": "echo: " + fields["Content"],
            }
        )
        if encrypted and self.echo.encrypt_replies:
            encrypt = self.echo.crypto.encrypt(reply)
            reply = build_message(
                {
                    "Encrypt": encrypt,
                    "MsgSignature": self.echo.crypto.msg_signature(timestamp, "n0nce", encrypt),
                    "TimeStamp": int(timestamp),
                    "Nonce": "n0nce",
                }
            )
        self.set_header("Content-Type", "application/xml")
        self.write(reply)


@contextlib.asynccontextmanager
async def echo_server(echo: EchoApp) -> AsyncIterator[str]:
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/wx/t1", EchoHandler, {"echo": echo})]))
    server.add_sockets(sockets)
    try:
        yield f"http://127.0.0.1:{sockets[0].getsockname()[1]}/wx/t1"
    finally:
        server.stop()
        await server.close_all_connections()


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
@async_test
async def test_push_text_is_signed_encrypted_and_reply_returned(mode: str) -> None:
    echo = EchoApp()
    async with echo_server(echo) as url, simulator(callback_url=url, message_mode=mode) as sim:
        result = await sim.client.push_text(APP_ID, "o_follower", "你好 <&> ]]> world", msg_id=1234567890123456)
        assert result["status"] == 200
        assert result["reply_valid"] is True, result["reply_error"]
        assert result["reply"]["Content"] == "echo: 你好 <&> ]]> world"
        assert result["reply"]["ToUserName"] == "o_follower" and result["reply"]["FromUserName"] == ORIGINAL_ID
        assert result["reply_encrypted"] is (mode != "plain")
        assert result["reply_signature_ok"] is (None if mode == "plain" else True)
        (got,) = echo.received
        assert got["fields"]["Content"] == "你好 <&> ]]> world" and got["fields"]["MsgId"] == "1234567890123456"
        assert got["fields"]["ToUserName"] == ORIGINAL_ID and got["fields"]["FromUserName"] == "o_follower"
        assert got["query"]["openid"] == "o_follower"
        if mode == "plain":
            assert "encrypt_type" not in got["query"] and "Encrypt" not in got["outer"]
        elif mode == "compat":
            assert got["outer"]["Content"] == got["fields"]["Content"] and "Encrypt" in got["outer"]
        else:
            assert set(got["outer"]) == {"ToUserName", "Encrypt"}
        assert result["request"]["query"] == got["query"]
        assert result["request"]["body"].encode("utf-8") == got["raw"]


@async_test
async def test_push_events_update_follow_state_and_replay_byte_for_byte() -> None:
    echo = EchoApp()
    async with echo_server(echo) as url, simulator(callback_url=url) as sim:
        result = await sim.client.push_event(APP_ID, "o_new", "subscribe", event_key="qrscene_bind:abc")
        assert result["status"] == 200 and result["body"] == "success" and result["reply"] == {}
        users = {u["openid"]: u for u in (await sim.client.users(APP_ID))["users"]}
        assert users["o_new"]["subscribed"] is True
        token = await sim.token()
        sent = await sim.send(token, "o_new")
        assert errcode(sent) == 0
        report = await sim.client.push_event(
            APP_ID, "o_new", "TEMPLATESENDJOBFINISH", extra={"MsgID": sent["msgid"], "Status": "success"}
        )
        fields = echo.received[-1]["fields"]
        assert fields["Event"] == "TEMPLATESENDJOBFINISH" and fields["MsgID"] == str(sent["msgid"])
        assert report["message"]["MsgID"] == sent["msgid"]
        inner = echo.crypto.decrypt(echo.received[-1]["outer"]["Encrypt"])
        assert f"<MsgID>{sent['msgid']}</MsgID>".encode() in inner  # an int, so bare, as WeChat sends it
        await sim.client.push_event(APP_ID, "o_new", "unsubscribe")
        assert_error(await sim.send(token, "o_new"), 43004)
        request = report["request"]
        replay = await sim.client.push_raw(request["url"], request["query"], request["body"])
        assert replay["status"] == 200
        assert echo.received[-1]["raw"] == echo.received[-3]["raw"]
        assert echo.received[-1]["query"] == echo.received[-3]["query"]


@async_test
async def test_reply_checks_catch_plain_replies_in_safe_mode_and_verify_handshake() -> None:
    echo = EchoApp(encrypt_replies=False)
    async with echo_server(echo) as url, simulator(callback_url=url, message_mode="safe") as sim:
        result = await sim.client.push_text(APP_ID, "o_follower", "hi")
        assert result["reply_valid"] is False and "encrypted" in result["reply_error"]
        assert result["reply"]["Content"] == "echo: hi"
        handshake = await sim.client.verify(APP_ID, echostr="5927782489442352469")
        assert handshake["ok"] is True and handshake["body"] == "5927782489442352469"
        fixed = await sim.client.push_text(APP_ID, "o_follower", "hi", timestamp=1411525903, nonce="461056294")
        assert fixed["request"]["query"]["timestamp"] == "1411525903"
        assert fixed["request"]["query"]["signature"] == sha1_signature(TOKEN, "1411525903", "461056294")
