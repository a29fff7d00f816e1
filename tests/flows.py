"""Test helpers for documents and delivery: a simulator wired to a tenant, accounts signed in
through the real OAuth + password flow (a phone with cookies), and a webhook receiver."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlparse

import tornado.httpserver
import tornado.netutil
import tornado.web

from harness import Response, tenant_body
from simulator.client import SimulatorClient
from simulator.server import start_simulator

PASSWORD = "correct horse battery"


class Simulator:
    """A simulator on a free loopback port, stopped with stop()."""

    def __init__(self) -> None:
        self.port = 0
        self.server: Any = None
        self.client: SimulatorClient

    async def start(self) -> "Simulator":
        _, self.server, self.port = await start_simulator(0)
        self.client = SimulatorClient(self.url)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wechat(self) -> dict[str, Any]:
        return {"api_base": self.url, "oauth_base": self.url}

    async def add_tenant_app(self, slug: str, gateway_url: str | None = None) -> str:
        """Register the tenant's app (as tenant_body makes it); pushes go to `gateway_url`'s callback."""
        body = tenant_body(slug)
        app_id: str = body["wechat"]["app_id"]
        extra = {"callback_url": f"{gateway_url}/wx/{slug}/callback"} if gateway_url else {}
        await self.client.add_app(app_id, secret=body["wechat"]["app_secret"], token=body["wechat"]["token"],
                                  original_id=body["wechat"]["original_id"], message_mode="plain", **extra)
        return app_id

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@dataclass
class Phone:
    """One WeChat user's in-app browser: cookies kept between requests, XSRF token sent back."""
    requester: Any
    slug: str
    cookies: dict[str, str] = field(default_factory=lambda: {"_xsrf": "v"})

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "X-XSRFToken": "v"}

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        response: Response = await self.requester.request(method, path, body, headers=self._headers())
        for header in response.headers.get_list("Set-Cookie"):
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response


async def put_account(requester: Any, slug: str, api_key: str, login: str, password: str = PASSWORD,
                      name: str | None = None) -> None:
    body = {"name": name or login.title(), "kind": "employee", "position": "工程师", "password": password}
    r = await requester.request("PUT", f"/api/v1/{slug}/accounts/{login}", body, token=api_key)
    assert r.status in (200, 201), r.text


async def sign_in(requester: Any, sim: SimulatorClient, app_id: str, slug: str, api_key: str, login: str,
                  openid: str | None = None, create: bool = True) -> Phone:
    """Create the account (unless `create` is false) and bind it to `openid` the way a phone does:
    entry → OAuth → login page → POST /api/login. Returns the signed-in phone."""
    openid = openid or f"o_{login}"
    if create:
        await put_account(requester, slug, api_key, login)
    await sim.add_user(app_id, openid, subscribed=True)
    phone = Phone(requester, slug)
    entry = await phone.request("GET", f"/wx/{slug}/entry?next=inbox")
    assert entry.status == 302, entry.text
    state = parse_qs(urlparse(entry.headers["Location"]).query)["state"][0]
    code = await sim.oauth_code(app_id, openid)
    back = await phone.request("GET", f"/wx/{slug}/oauth?code={code}&state={state}")
    assert back.status == 302, back.text
    login_r = await phone.request("POST", f"/wx/{slug}/api/login", {"login": login, "password": PASSWORD})
    assert login_r.status == 200, login_r.text
    return phone


def document(approvers: list[str], cc: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "采购申请", "title": "采购 笔记本电脑", "summary": "两台 ThinkPad",
                            "applicant": "张三", "submitted_at": "2024-01-01T15:01:00+08:00",
                            "fields": [{"label": "金额", "value": "¥12,000"}], "approvers": approvers,
                            "cc": cc or []}
    body.update(overrides)
    return body


async def wait_for(predicate: Any, timeout: float = 20.0, every: float = 0.1) -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(every)


class Receiver:
    """A webhook endpoint on loopback: records every request; answers from `script`
    ((status, headers) tuples, in order), then `default`."""

    def __init__(self, default: int = 204, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.default, self.delay = default, delay
        self.server: Any = None
        self.port = 0

    async def start(self) -> "Receiver":
        receiver = self

        class Hook(tornado.web.RequestHandler):
            async def post(self, path: str) -> None:
                receiver.requests.append({"path": path, "headers": dict(self.request.headers),
                                          "body": self.request.body, "at": asyncio.get_running_loop().time()})
                if receiver.delay:
                    await asyncio.sleep(receiver.delay)
                status, headers = receiver.script.pop(0) if receiver.script else (receiver.default, {})
                self.set_status(status)
                for k, v in headers.items():
                    self.set_header(k, v)
                self.finish()

        app = tornado.web.Application([(r"/(.*)", Hook)])
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(app)
        self.server.add_sockets(sockets)
        return self

    def url(self, path: str = "hook") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def ids(self) -> list[str]:
        return [r["headers"].get("Webhook-Id", "") for r in self.requests]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
