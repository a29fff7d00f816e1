"""`python server.py --demo`: the simulator in the gateway's process, a demo tenant with accounts
and documents (made through the gateway's own tenant API), and the URLs to open."""
from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any, Awaitable, Callable
from http.cookies import SimpleCookie
from urllib.parse import quote, urldefrag, urlparse

from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.httpserver import HTTPServer

from gateway.root import Gateway
from simulator.component_demo import start_component_demo
from simulator.demo_receiver import Receiver, start_receiver
from simulator.server import start_simulator
from simulator.state import SimulatorState

log = logging.getLogger("gateway.demo")

SLUG = "demo"
APP_ID = "wxdemo000000000001"
PASSWORD = "Start@2026pass"
PREFERRED_PORT = 9009
KEY_FILE = "demo_api_key"
SEEDED_FILE = "demo_seeded"

ACCOUNTS: list[dict[str, str]] = [
    {"login": "zhangsan", "name": "张三", "kind": "employee", "position": "部门经理"},
    {"login": "lisi", "name": "李四", "kind": "employee", "position": "财务主管"},
    {"login": "wangwu", "name": "王五", "kind": "supplier", "position": "华东办公设备 销售代表"},
]

DOCUMENTS: list[dict[str, Any]] = [
    {"id": "PR-2026-0012", "type": "采购申请", "title": "办公电脑采购（10 台）", "applicant": "赵敏",
     "submitted_at": "2026-11-27T09:30:00+08:00", "summary": "研发部新员工入职，需要采购笔记本电脑。",
     "fields": [{"label": "采购部门", "value": "研发部"}, {"label": "数量", "value": "10 台"},
                {"label": "预算金额", "value": "¥ 68,000.00"}, {"label": "供应商", "value": "华东办公设备"},
                {"label": "期望到货", "value": "2026-12-10"}],
     "approvers": ["zhangsan", "lisi"], "cc": ["wangwu"]},
    {"id": "EX-2026-0345", "type": "费用报销", "title": "11 月上海出差差旅费", "applicant": "李四",
     "submitted_at": "2026-11-28T14:05:00+08:00", "summary": "客户拜访，往返高铁及住宿两晚。",
     "fields": [{"label": "报销金额", "value": "¥ 2,460.50"}, {"label": "出差日期", "value": "11 月 18 日至 20 日"},
                {"label": "票据张数", "value": "6"}],
     "approvers": ["zhangsan"], "cc": []},
    {"id": "LV-2026-0078", "type": "请假申请", "title": "年假 3 天", "applicant": "王磊",
     "submitted_at": "2026-11-29T08:40:00+08:00", "summary": "",
     "fields": [{"label": "假期类型", "value": "年假"}, {"label": "开始", "value": "2026-12-15"},
                {"label": "结束", "value": "2026-12-17"}, {"label": "工作交接", "value": "由李四代为处理"}],
     "approvers": ["lisi"], "cc": ["zhangsan"]},
]


def openid_of(login: str) -> str:
    return f"o_demo_{login}"


def tenant_body() -> dict[str, Any]:
    return {
        "slug": SLUG, "name": "演示科技有限公司",
        "wechat": {"app_id": APP_ID, "app_secret": secrets.token_hex(16), "token": secrets.token_hex(16),
                   "original_id": "gh_demo0000001", "encoding_aes_key": None, "message_mode": "plain"},
        "templates": {
            "approver": {"template_id": "tpl_demo_approver",
                         "data": {"thing1": "{title}", "thing2": "{applicant}", "time3": "{submitted_at}"}},
            "cc": {"template_id": "tpl_demo_cc", "data": {"thing1": "{title}", "thing2": "{applicant}"}},
        },
        "policy": {"max_login_failures": 5, "lockout_minutes": 15, "password_min_length": 8,
                   "password_classes": ["digit", "letter"], "first_login_change_password": False,
                   "allow_mobile_registration": True},
    }


def write_secret(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)


async def start_simulator_near(host: str) -> tuple[SimulatorState, HTTPServer, int]:
    try:
        return await start_simulator(PREFERRED_PORT, host)
    except OSError:
        return await start_simulator(0, host)


async def ensure_tenant(gw: Gateway) -> tuple[str, bool]:
    """The demo tenant's API key (kept in var/demo_api_key, rotated if lost) and whether it is new."""
    key_path = gw.settings.var_path / KEY_FILE
    if gw.registry.get(SLUG) is None:
        tenant, api_key = await gw.registry.create(tenant_body())
        await gw.audit.record(tenant.id, "operator", "tenant.created", SLUG)
        write_secret(key_path, api_key)
        (gw.settings.var_path / SEEDED_FILE).unlink(missing_ok=True)
        return api_key, True
    api_key = key_path.read_text().strip() if key_path.exists() else ""
    owner = await gw.registry.tenant_for_api_key(api_key) if api_key else None
    if owner is None or owner.slug != SLUG:
        api_key = await gw.registry.rotate_api_key(SLUG)
        write_secret(key_path, api_key)
    return api_key, False


class TenantApi:
    """The gateway's own tenant API over loopback, as the demo tenant's business system would call it."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = f"{base_url}/api/v1/{SLUG}"
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.http = AsyncHTTPClient()

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.http.fetch(
            self.base + path, method=method, headers=self.headers, raise_error=False, request_timeout=30,
            body=json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
        try:
            data = json.loads(response.body or b"null")
        except ValueError:
            data = None
        if response.code >= 400 and response.code != 404:
            raise RuntimeError(f"demo set-up: {method} {path} answered {response.code}: {data}")
        return response.code, data


class DemoPhone:
    """A simulated WeChat user going through entry → authorize → OAuth → login, as a phone would."""

    def __init__(self, gateway: str, openid: str) -> None:
        self.gateway, self.openid = gateway, openid
        self.cookies: dict[str, str] = {}
        self.http = AsyncHTTPClient()

    async def fetch(self, url: str, body: Any = None) -> HTTPResponse:
        headers = {}
        if self.cookies:  # the simulator ignores them
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            headers["X-XSRFToken"] = self.cookies.get("_xsrf", "")
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = await self.http.fetch(url, method="POST" if body is not None else "GET", headers=headers,
                                         body=json.dumps(body).encode() if body is not None else None,
                                         follow_redirects=False, raise_error=False, request_timeout=30)
        for header in response.headers.get_list("Set-Cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            self.cookies.update((name, morsel.value) for name, morsel in jar.items())
        return response

    async def bind(self, login: str) -> None:
        entry = await self.fetch(f"{self.gateway}/wx/{SLUG}/entry?next=inbox")
        authorize = urldefrag(entry.headers.get("Location", "")).url
        back = await self.fetch(f"{authorize}&sim_openid={quote(self.openid)}")
        login_page = await self.fetch(back.headers.get("Location", ""))
        await self.fetch(self.gateway + login_page.headers.get("Location", ""))
        signed = await self.fetch(f"{self.gateway}/wx/{SLUG}/api/login", {"login": login, "password": PASSWORD})
        if signed.code != 200:
            raise RuntimeError(f"demo set-up: {login} could not be bound ({signed.code})")


async def seed(api: TenantApi, gateway: str, fresh: bool) -> None:
    """Accounts and documents; on a tenant that is not fresh, only those missing (a password sent
    again for an existing account would be an administrator's reset). Every account but the first is
    bound to its simulated WeChat user first, so their notifications reach the simulator; the first
    is left for the person trying the demo to bind in the browser."""
    for index, account in enumerate(ACCOUNTS):
        path = f"/accounts/{account['login']}"
        if fresh or (await api.call("GET", path))[0] == 404:
            body = {k: v for k, v in account.items() if k != "login"}
            await api.call("PUT", path, {**body, "password": PASSWORD})
            if index > 0:
                try:
                    await DemoPhone(gateway, openid_of(account["login"])).bind(account["login"])
                except Exception as exc:  # e.g. a public_url this host cannot reach: the demo still runs
                    log.warning("demo: %s was not bound in advance (%s)", account["login"], exc)
    for doc in DOCUMENTS:
        path = f"/documents/{quote(doc['id'], safe='')}"
        if fresh or (await api.call("GET", path))[0] == 404:
            await api.call("PUT", path, {k: v for k, v in doc.items() if k != "id"})


async def start_demo(gw: Gateway) -> None:
    host = gw.settings.server.host
    state, sim_server, sim_port = await start_simulator_near(host)
    url_host = urlparse(gw.public_url).hostname or "127.0.0.1"
    sim_url = f"http://{url_host}:{sim_port}"
    gw.on_stop(_stopper(sim_server))

    gw.settings.wechat.api_base = sim_url
    gw.settings.wechat.oauth_base = sim_url
    # Changed in place: services built at start hold this same client object.
    gw.wechat_http.api_base = sim_url
    # The simulated phone shows the gateway's pages in its in-app browser pane (a frame).
    gw.settings.server.frame_ancestors = [sim_url]

    api_key, fresh = await ensure_tenant(gw)
    own = host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    gateway = f"http://{own}:{gw.settings.server.port}"
    api = TenantApi(gateway, api_key)
    receiver = Receiver(gw.registry.require(SLUG).secrets.webhook_secret, make_code=bind_code(api))
    hook_server, hook_port = await start_receiver(own, receiver)
    gw.on_stop(_stopper(hook_server))
    receiver_url = f"http://{url_host}:{hook_port}/"
    await gw.registry.patch(SLUG, {"webapi_url": f"{receiver_url}hook"})
    tenant = gw.registry.require(SLUG)

    var = gw.settings.var_path
    seeding = fresh or not (var / SEEDED_FILE).exists()
    first, others = ACCOUNTS[0]["login"], [a["login"] for a in ACCOUNTS[1:]]
    state.add_app(APP_ID, secret=tenant.secrets.app_secret, token=tenant.secrets.token,
                  original_id=tenant.original_id or "gh_demo0000001", message_mode=tenant.message_mode,
                  callback_url=f"{gw.public_url}/wx/{SLUG}/callback", oauth_domains=[url_host],
                  templates=[t["template_id"] for t in tenant.templates.values()], name=tenant.name,
                  template_titles=TEMPLATE_TITLES, template_labels=TEMPLATE_LABELS,
                  hint=walkthrough(first, receiver_url))
    for account in ACCOUNTS:
        # The person trying the demo follows the account themselves (a returning one already did).
        state.add_user(APP_ID, openid_of(account["login"]), nickname=account["name"],
                       subscribed=account["login"] != first or not seeding)
    state.set_current_user(APP_ID, openid_of(first))
    try:
        await gw.menus.push_default(tenant, actor="demo")
    except Exception as exc:
        log.warning("demo: the menu was not pushed (%s)", exc)

    if seeding:
        await seed(api, gateway, fresh)
        (var / SEEDED_FILE).write_text("accounts and documents of the demo tenant were created\n")

    phone_url = f"{sim_url}/_sim/phone?app_id={APP_ID}&openid={openid_of(first)}"
    print("Demo ready (tenant \"demo\", WeChat simulated in this process).", flush=True)
    print(f"  Open first: {phone_url}", flush=True)
    print("      the simulated phone; its side panel walks you through follow, menu, bind, notification and"
          " approval", flush=True)
    print(f"  Business system (webhooks received, signatures checked): {receiver_url}", flush=True)
    print(f"  Demo entry URL: {gw.public_url}/wx/{SLUG}/entry?next=inbox", flush=True)
    print(f"      the phone's in-app browser opens links like this one; bind {first} / {PASSWORD}", flush=True)
    print(f"      {', '.join(others)} (same password) are bound to {', '.join(openid_of(o) for o in others)};"
          f" their template messages are in the simulator's /_sim/sent", flush=True)
    print(f"  Simulator URL: {sim_url}  (control API under /_sim/, e.g. {sim_url}/_sim/sent?app_id={APP_ID})",
          flush=True)
    print(f"  Admin API: {gw.public_url}/admin/api/tenants  (Bearer token in {var / 'operator_token'})", flush=True)
    print(f"  Console: {gw.public_url}/console/login  (sign in with the operator token)", flush=True)
    print(f"  Tenant API: {gw.public_url}/api/v1/{SLUG}  (Bearer key in {var / KEY_FILE})", flush=True)
    await start_component_demo(gw, state, sim_url, url_host)


TEMPLATE_TITLES = {"tpl_demo_approver": "待审批提醒", "tpl_demo_cc": "抄送提醒"}
TEMPLATE_LABELS = {"thing1": "单据", "thing2": "申请人", "time3": "提交时间"}


def walkthrough(login: str, receiver_url: str) -> str:
    """The steps the phone's side panel shows to someone trying the demo."""
    return (f"1. 点「关注公众号」：公众号回复欢迎语和绑定链接。\n"
            f"2. 点底部菜单「待办数」：还没绑定时，回复提示先绑定。\n"
            f"3. 点回复里的链接，在打开的网页里用 {login} / {PASSWORD} 登录并绑定"
            f"（或在业务系统页面生成绑定二维码，用右边的「扫一扫」扫描）。\n"
            f"4. 绑定后，网关发出等待张三绑定的待办通知：聊天里出现「待审批提醒」卡片。\n"
            f"5. 关闭网页，点卡片的「详情」，在单据页点「同意」。\n"
            f"6. 打开业务系统页面 {receiver_url} ，可以看到签名有效的审批结果。")


def bind_code(api: TenantApi) -> Callable[[str], Awaitable[dict[str, Any]]]:
    async def make(login: str) -> dict[str, Any]:
        status, code = await api.call("POST", f"/accounts/{quote(login, safe='')}/bind-qr", {})
        if status != 201:
            raise RuntimeError(f"bind-qr for {login} answered {status}")
        return dict(code)
    return make


def _stopper(server: HTTPServer) -> Callable[[], Awaitable[None]]:
    async def stop() -> None:
        server.stop()
        await server.close_all_connections()
    return stop
