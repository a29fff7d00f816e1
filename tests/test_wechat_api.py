"""WeChat API client against a fake WeChat Tornado app on a loopback port."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from gateway.wechat.api import menu, oauth, template, ticket, token, user
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.errors import (
    ERROR_TABLE,
    BadCredentials,
    IpNotWhitelisted,
    NetworkError,
    OAuthCodeInvalid,
    PermanentError,
    QuotaExceeded,
    Retryable,
    TokenInvalid,
    UserUnreachable,
    WeChatError,
    error_for,
)

T = TypeVar("T")
TOKEN = "SECRETTOKEN123"
SECRET = "APPSECRET456"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    content_type: str


@dataclass
class FakeWeChat:
    """Canned replies per path: (status, raw body, delay seconds); records every request."""

    replies: dict[str, tuple[int, bytes, float]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def reply(self, path: str, payload: Any, status: int = 200, delay: float = 0.0) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.replies[path] = (status, raw, delay)

    def last(self) -> Seen:
        return self.seen[-1]


class FakeHandler(RequestHandler):
    def initialize(self, fake: FakeWeChat) -> None:
        self.fake = fake

    async def _answer(self) -> None:
        path = self.request.path.lstrip("/")
        self.fake.seen.append(
            Seen(
                self.request.method or "",
                path,
                {k: self.get_query_argument(k) for k in self.request.query_arguments},
                self.request.body,
                self.request.headers.get("Content-Type", ""),
            )
        )
        status, raw, delay = self.fake.replies.get(path, (200, b'{"errcode":0,"errmsg":"ok"}', 0.0))
        if delay:
            await asyncio.sleep(delay)
        self.set_status(status)
        self.set_header("Content-Type", "text/html" if raw.startswith(b"<") else "application/json")
        self.finish(raw)

    async def get(self, _: str) -> None:
        await self._answer()

    async def post(self, _: str) -> None:
        await self._answer()


def run(
    fake: FakeWeChat,
    call: Callable[[WeChatHttp], Awaitable[T]],
    timeout: float = 5.0,
    on_call: Callable[[str, str], None] | None = None,
) -> T:
    async def main() -> T:
        # log_function silences the fake's access log: it would print the query we must not leak.
        app = Application([(r"/(.*)", FakeHandler, {"fake": fake})], log_function=lambda _: None)
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_sockets([sock])
        client = AsyncHTTPClient(force_instance=True)
        try:
            http = WeChatHttp(f"http://127.0.0.1:{port}/", timeout=timeout, http_client=client, on_call=on_call)
            return await call(http)
        finally:
            client.close()
            server.stop()

    return asyncio.run(main())


def raises(fake: FakeWeChat, call: Callable[[WeChatHttp], Awaitable[Any]], **kw: Any) -> WeChatError:
    with pytest.raises(WeChatError) as info:
        run(fake, call, **kw)
    return info.value


# --- success paths -------------------------------------------------------------------------


def test_fetch_access_token() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/token", {"access_token": "ACCESS", "expires_in": 7200})
    got = run(fake, lambda h: token.fetch_access_token(h, "wxAPP", SECRET))
    assert got == token.Token("ACCESS", 7200)
    seen = fake.last()
    assert (seen.method, seen.path) == ("GET", "cgi-bin/token")
    assert seen.query == {"grant_type": "client_credential", "appid": "wxAPP", "secret": SECRET}


def test_fetch_stable_token_posts_json() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/stable_token", {"access_token": "STABLE", "expires_in": 6000})
    got = run(fake, lambda h: token.fetch_stable_token(h, "wxAPP", SECRET, force_refresh=True))
    assert got == token.Token("STABLE", 6000)
    seen = fake.last()
    assert (seen.method, seen.query) == ("POST", {})
    assert seen.content_type.startswith("application/json")
    assert json.loads(seen.body) == {
        "grant_type": "client_credential", "appid": "wxAPP", "secret": SECRET, "force_refresh": True,
    }


def test_fetch_jsapi_ticket() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/ticket/getticket", {"errcode": 0, "errmsg": "ok", "ticket": "TICK", "expires_in": 7200})
    got = run(fake, lambda h: ticket.fetch_jsapi_ticket(h, TOKEN))
    assert got == ticket.Ticket("TICK", 7200)
    assert fake.last().query == {"access_token": TOKEN, "type": "jsapi"}


def test_send_template_raw_utf8_and_int64_msgid() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/message/template/send", b'{"errcode":0,"errmsg":"ok","msgid":9007199254740993}')
    data = {"thing1": {"value": "采购申请单"}}
    got = run(
        fake,
        lambda h: template.send_template(
            h, TOKEN, "OPENID", "TPL", data, url="https://x.example/a?id=1", client_msg_id="t:1:2:3"
        ),
    )
    assert got == "9007199254740993"
    seen = fake.last()
    assert seen.query == {"access_token": TOKEN}
    assert "采购申请单".encode() in seen.body and b"\\u" not in seen.body
    assert json.loads(seen.body) == {
        "touser": "OPENID", "template_id": "TPL", "url": "https://x.example/a?id=1",
        "client_msg_id": "t:1:2:3", "data": data,
    }


def test_send_template_without_optional_fields() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/message/template/send", {"errcode": 0, "errmsg": "ok", "msgid": 1})
    assert run(fake, lambda h: template.send_template(h, TOKEN, "O", "T", {})) == "1"
    assert set(json.loads(fake.last().body)) == {"touser", "template_id", "data"}


def test_menu_create_get_delete() -> None:
    fake = FakeWeChat()
    body = {"button": [{"type": "click", "name": "今日歌曲", "key": "V1001"}]}
    fake.reply("cgi-bin/menu/get", {"menu": body})

    async def calls(h: WeChatHttp) -> dict:
        await menu.create_menu(h, TOKEN, body)
        got = await menu.get_menu(h, TOKEN)
        await menu.delete_menu(h, TOKEN)
        return got

    assert run(fake, calls) == {"menu": body}
    create, get, delete = fake.seen
    assert (create.method, create.path, create.query) == ("POST", "cgi-bin/menu/create", {"access_token": TOKEN})
    assert "今日歌曲".encode() in create.body and json.loads(create.body) == body
    assert (get.method, get.path) == ("GET", "cgi-bin/menu/get")
    assert (delete.method, delete.path, delete.query) == ("GET", "cgi-bin/menu/delete", {"access_token": TOKEN})


def test_exchange_code() -> None:
    fake = FakeWeChat()
    fake.reply("sns/oauth2/access_token", {
        "access_token": "WEB", "expires_in": 7200, "refresh_token": "R", "openid": "OPENID",
        "scope": "snsapi_userinfo", "is_snapshotuser": 1, "unionid": "UNION",
    })
    got = run(fake, lambda h: oauth.exchange_code(h, "wxAPP", SECRET, "CODE"))
    assert got == oauth.OAuthIdentity("OPENID", "snsapi_userinfo", True, "UNION")
    assert fake.last().query == {
        "appid": "wxAPP", "secret": SECRET, "code": "CODE", "grant_type": "authorization_code",
    }


def test_exchange_code_base_scope() -> None:
    fake = FakeWeChat()
    fake.reply("sns/oauth2/access_token", {"access_token": "W", "expires_in": 7200, "openid": "O", "scope": "snsapi_base"})
    got = run(fake, lambda h: oauth.exchange_code(h, "wxAPP", SECRET, "CODE"))
    assert got == oauth.OAuthIdentity("O", "snsapi_base", False, None)


def test_authorize_url_exact() -> None:
    assert oauth.authorize_url("https://open.weixin.qq.com", "123456", "http://localhost", "abc") == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=123456&redirect_uri=http%3A%2F%2Flocalhost"
        "&response_type=code&scope=snsapi_base&state=abc#wechat_redirect"
    )


def test_get_user_info() -> None:
    fake = FakeWeChat()
    info = {"subscribe": 1, "openid": "O", "subscribe_time": 1382694957, "subscribe_scene": "ADD_SCENE_QR_CODE"}
    fake.reply("cgi-bin/user/info", info)
    assert run(fake, lambda h: user.get_user_info(h, TOKEN, "O")) == info
    assert fake.last().query == {"access_token": TOKEN, "openid": "O", "lang": "zh_CN"}


def test_on_call_reports_path_and_outcome() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/user/info", {"errcode": 45011, "errmsg": "api minute-quota reach limit"})
    calls: list[tuple[str, str]] = []

    async def both(h: WeChatHttp) -> None:
        await menu.delete_menu(h, TOKEN)
        with pytest.raises(Retryable):
            await user.get_user_info(h, TOKEN, "O")

    run(fake, both, on_call=lambda p, o: calls.append((p, o)))
    assert calls == [("cgi-bin/menu/delete", "ok"), ("cgi-bin/user/info", "45011")]


# --- errcode with HTTP 200 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "errcode, cls",
    [
        (40001, TokenInvalid), (42001, TokenInvalid), (-1, Retryable), (45011, Retryable),
        (45009, QuotaExceeded), (40125, BadCredentials), (40243, BadCredentials), (40029, OAuthCodeInvalid),
        (40163, OAuthCodeInvalid), (47003, PermanentError), (48001, PermanentError), (99999, PermanentError),
    ],
)
def test_errcode_maps_to_class(errcode: int, cls: type[WeChatError]) -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/message/template/send", {"errcode": errcode, "errmsg": "some text"})
    err = raises(fake, lambda h: template.send_template(h, TOKEN, "O", "T", {}))
    assert type(err) is cls
    assert (err.errcode, err.errmsg) == (errcode, "some text")


def test_ip_not_whitelisted_parses_ip() -> None:
    fake = FakeWeChat()
    msg = "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 6523-abc"
    fake.reply("cgi-bin/token", {"errcode": 40164, "errmsg": msg})
    err = raises(fake, lambda h: token.fetch_access_token(h, "wxAPP", SECRET))
    assert isinstance(err, IpNotWhitelisted) and err.ip == "1.2.3.4" and err.errmsg == msg
    assert error_for(61004, "client ip not registered").ip is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "errcode, reason",
    [(43004, "not_subscribed"), (40003, "invalid_openid"), (43019, "blacklisted"), (50002, "user_limited")],
)
def test_user_unreachable_reason(errcode: int, reason: str) -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/message/template/send", {"errcode": errcode, "errmsg": "require subscribe"})
    err = raises(fake, lambda h: template.send_template(h, TOKEN, "O", "T", {}))
    assert isinstance(err, UserUnreachable) and err.reason == reason


def test_error_table_covers_documented_codes() -> None:
    documented = [
        -1, 40001, 40002, 40003, 40013, 40014, 40015, 40016, 40017, 40018, 40019, 40020, 40022, 40023,
        40024, 40025, 40026, 40027, 40029, 40030, 40033, 40036, 40037, 40039, 40054, 40055, 40125, 40163,
        40164, 40243, 41001, 41007, 41008, 41009, 42001, 42002, 42003, 42007, 43002, 43003, 43004, 43019,
        43101, 44002, 45009, 45011, 45015, 45047, 46002, 46003, 46004, 47001, 47003, 48001, 48004, 50001,
        50002, 61004, 65316, 65317, 89501, 89503, 89506, 89507,
    ]
    assert [c for c in documented if c not in ERROR_TABLE] == []
    assert all(meaning for _, meaning in ERROR_TABLE.values())
    assert isinstance(error_for(-2, "x"), NetworkError) and isinstance(error_for(-2, "x"), Retryable)


# --- network failures ---------------------------------------------------------------------


def test_timeout_is_network_error() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/user/info", {"subscribe": 1}, delay=1.0)
    err = raises(fake, lambda h: user.get_user_info(h, TOKEN, "O"), timeout=0.2)
    assert isinstance(err, NetworkError) and err.errcode == -2


def test_http_502_is_network_error() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/menu/get", b'{"errcode":0}', status=502)
    err = raises(fake, lambda h: menu.get_menu(h, TOKEN))
    assert isinstance(err, NetworkError) and "502" in err.errmsg


def test_html_body_is_network_error() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/menu/get", b"<html><body>proxy error</body></html>")
    assert isinstance(raises(fake, lambda h: menu.get_menu(h, TOKEN)), NetworkError)


def test_connection_refused_is_network_error() -> None:
    async def call() -> None:
        sock, port = bind_unused_port()
        sock.close()
        client = AsyncHTTPClient(force_instance=True)
        try:
            await user.get_user_info(WeChatHttp(f"http://127.0.0.1:{port}", http_client=client), TOKEN, "O")
        finally:
            client.close()

    with pytest.raises(NetworkError):
        asyncio.run(call())


def test_missing_field_in_success_body_is_network_error() -> None:
    fake = FakeWeChat()
    fake.reply("cgi-bin/token", {"expires_in": 7200})
    assert isinstance(raises(fake, lambda h: token.fetch_access_token(h, "wxAPP", SECRET)), NetworkError)


# --- secrets never logged -----------------------------------------------------------------


def test_no_token_or_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeWeChat()
    fake.reply("cgi-bin/token", {"access_token": TOKEN, "expires_in": 7200})
    fake.reply("cgi-bin/stable_token", {"errcode": 40125, "errmsg": f"invalid appsecret {SECRET}"})
    fake.reply("cgi-bin/user/info", {"errcode": 40001, "errmsg": f"access_token {TOKEN} is invalid"})
    fake.reply("cgi-bin/menu/get", b"<html>oops</html>", status=500)
    fake.reply("cgi-bin/ticket/getticket", {"ticket": "T", "expires_in": 1}, delay=1.0)
    errors: list[WeChatError] = []
    run(fake, lambda h: _collect(h, errors), timeout=0.2)
    assert len(errors) == 5
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    shown = " ".join(f"{e} {e.errmsg} {e!r}" for e in errors)
    for secret in (TOKEN, SECRET):
        assert secret not in logged and secret not in shown
    assert "cgi-bin/user/info" in caplog.text and "40001" in caplog.text


async def _collect(h: WeChatHttp, errors: list[WeChatError]) -> None:
    await token.fetch_access_token(h, "wxAPP", SECRET)
    for attempt in (
        lambda: token.fetch_stable_token(h, "wxAPP", SECRET),
        lambda: user.get_user_info(h, TOKEN, "O"),
        lambda: menu.get_menu(h, TOKEN),
        lambda: ticket.fetch_jsapi_ticket(h, TOKEN),
        lambda: oauth.exchange_code(h, "wxAPP", SECRET, "CODE"),
    ):
        try:
            await attempt()
        except WeChatError as exc:
            errors.append(exc)
