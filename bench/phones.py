"""Benchmark helpers for the WeChat side: the simulator on a free loopback port, a tenant body
with templates, accounts pushed through the tenant API, and a phone (cookies + XSRF token) that
walks entry → OAuth → POST /api/login the way tests/flows.py does. Not a benchmark itself
(run_all.py only runs bench_*.py)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlparse

import tornado.httpclient
import tornado.httpserver
import tornado.httputil

from simulator.client import SimulatorClient
from simulator.server import start_simulator
from simulator.state import SimulatorState

PASSWORD = "correct horse battery"
SEND_ENDPOINT = "cgi-bin/message/template/send"


def app_id_of(slug: str) -> str:
    return "wx" + (slug.encode().hex() + "0" * 16)[:16]


def tenant_body(slug: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid creation body (as tests/harness.py makes it): plain mode, approver and cc templates."""
    compact = slug.replace("-", "")
    return {
        "slug": slug, "name": f"{slug} 制造",
        "wechat": {"app_id": app_id_of(slug), "app_secret": "s3cretAppSecret" + compact, "token": "tok" + compact,
                   "original_id": "gh_" + compact + "01", "encoding_aes_key": None, "message_mode": "plain"},
        "templates": {"approver": {"template_id": "tpl_approver", "data": {
            "thing1": "{title}", "thing2": "{applicant}", "time3": "{submitted_at}"}},
            "cc": {"template_id": "tpl_cc", "data": {"thing1": "{title}", "thing2": "{applicant}"}}},
        "policy": {"max_login_failures": 5, "lockout_minutes": 15, "password_min_length": 8,
                   "password_classes": [], "first_login_change_password": False,
                   "allow_mobile_registration": False, **(policy or {})},
    }


def document(doc_id: str, approvers: list[str]) -> dict[str, Any]:
    return {"type": "采购申请", "title": f"采购 笔记本电脑 {doc_id}"[:20], "summary": "两台 ThinkPad",
            "applicant": "张三", "submitted_at": "2024-01-01T15:01:00+08:00",
            "fields": [{"label": "金额", "value": "¥12,000"}], "approvers": approvers, "cc": []}


@dataclass
class Reply:
    status: int
    body: bytes
    headers: tornado.httputil.HTTPHeaders

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A small JSON client for one base URL (the gateway)."""

    def __init__(self, base_url: str, max_clients: int = 64) -> None:
        self.base_url = base_url
        self.http = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=max_clients)

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                      token: str | None = None) -> Reply:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif method in ("POST", "PUT", "PATCH"):
            data = b""
        response = await self.http.fetch(self.base_url + path, method=method, body=data, headers=hdrs,
                                         raise_error=False, follow_redirects=False, request_timeout=120)
        return Reply(response.code, response.body or b"", response.headers)

    def close(self) -> None:
        self.http.close()


class Simulator:
    """The WeChat simulator in this process, on a free loopback port."""

    def __init__(self) -> None:
        self.state: SimulatorState | None = None
        self.server: tornado.httpserver.HTTPServer | None = None
        self.port = 0
        self.client = SimulatorClient("http://127.0.0.1:0")

    async def start(self) -> "Simulator":
        self.state, self.server, self.port = await start_simulator(0)
        self.client = SimulatorClient(self.url)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wechat(self) -> dict[str, Any]:
        return {"api_base": self.url, "oauth_base": self.url}

    def accepted(self, app_id: str | None = None) -> int:
        """Template sends the simulator has accepted (for `app_id`, or for all apps: O(1), cheap
        enough to poll every few milliseconds), read in process: no HTTP cost."""
        assert self.state is not None
        sent = self.state.templates.sent
        return len(sent) if app_id is None else sum(1 for s in sent if s.app_id == app_id)

    async def add_app(self, body: dict[str, Any]) -> str:
        wechat = body["wechat"]
        await self.client.add_app(wechat["app_id"], secret=wechat["app_secret"], token=wechat["token"],
                                  original_id=wechat["original_id"], message_mode="plain")
        return str(wechat["app_id"])

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@dataclass
class Phone:
    """One WeChat user's in-app browser: cookies kept between requests, XSRF token sent back."""
    api: Api
    slug: str
    cookies: dict[str, str] = field(default_factory=lambda: {"_xsrf": "v"})
    forwarded_for: str | None = None  # the phone's own IP, as a trusted proxy would report it

    def _headers(self) -> dict[str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "X-XSRFToken": "v"}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        return headers

    async def request(self, method: str, path: str, body: Any = None) -> Reply:
        reply = await self.api.request(method, path, body, headers=self._headers())
        for header in reply.headers.get_list("Set-Cookie"):
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    async def oauth(self, sim: SimulatorClient, app_id: str, openid: str) -> None:
        """Entry → WeChat OAuth → back: leaves the signed openid cookie POST /api/login needs."""
        await sim.add_user(app_id, openid, subscribed=True)
        entry = await self.request("GET", f"/wx/{self.slug}/entry?next=inbox")
        assert entry.status == 302, entry.body
        state = parse_qs(urlparse(entry.headers["Location"]).query)["state"][0]
        code = await sim.oauth_code(app_id, openid)
        back = await self.request("GET", f"/wx/{self.slug}/oauth?code={code}&state={state}")
        assert back.status == 302 and "gw_openid" in self.cookies, back.body

    async def login(self, login: str, password: str) -> Reply:
        return await self.request("POST", f"/wx/{self.slug}/api/login", {"login": login, "password": password})


async def put_account(api: Api, slug: str, api_key: str, login: str, password: str = PASSWORD) -> None:
    body = {"name": login.title(), "kind": "employee", "position": "工程师", "password": password}
    reply = await api.request("PUT", f"/api/v1/{slug}/accounts/{login}", body, token=api_key)
    assert reply.status in (200, 201), reply.body


async def create_tenant(api: Api, operator: str, body: dict[str, Any]) -> str:
    """Creates the tenant through the admin API; returns its api_key."""
    reply = await api.request("POST", "/admin/api/tenants", body, token=operator)
    assert reply.status == 201, reply.body
    return str(reply.json["api_key"])


async def sign_in(api: Api, sim: SimulatorClient, app_id: str, slug: str, api_key: str, login: str) -> Phone:
    """Create the account and bind it to o_<login> the way a phone does; returns the signed-in phone."""
    await put_account(api, slug, api_key, login)
    phone = Phone(api, slug)
    await phone.oauth(sim, app_id, f"o_{login}")
    reply = await phone.login(login, PASSWORD)
    assert reply.status == 200, reply.body
    return phone
