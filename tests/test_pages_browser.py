"""The phone pages in headless Chromium against a real gateway and the WeChat simulator: sign-in
and binding, failed attempts and lockout, forced password change, a tapped notification, registration."""
from __future__ import annotations

import asyncio
import os
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from harness import RunningGateway, TestEnv
from phone import put_account
from screenshots import shooter
from simulator.client import SimulatorClient
from wechat_env import wechat_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = {"width": 390, "height": 844}
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.50(0x18003231) NetType/WIFI Language/zh_CN")
ZONE = "Asia/Shanghai"
OPENID = "o_browser_user_0001"
PASSWORD = "Start#2026pass"
# Screenshots of the pages are written here when the variable is set (e.g. /tmp/shots).
SHOTS = os.environ.get("GATEWAY_TEST_SHOTS")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")]


@dataclass
class Stack:
    g: RunningGateway
    sim: SimulatorClient
    api_key: str
    app_id: str

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        return await self.g.request(method, f"/api/v1/acme{path}", body, token=self.api_key)

    def url(self, path: str) -> str:
        return f"{self.g.base_url}/wx/acme/{path}"

    def at(self, path: str) -> re.Pattern[str]:
        """The page's URL; after a redirect chain that began at the authorize URL, the browser keeps
        its `#wechat_redirect` fragment, as WeChat's web view does."""
        return re.compile(re.escape(self.url(path)) + r"(#.*)?$")


@asynccontextmanager
async def wechat_stack(env: TestEnv, **policy: Any) -> AsyncIterator[Stack]:
    """A gateway whose WeChat is the simulator, at addresses a browser can follow, tenant "acme"
    registered in both, one phone user (the simulator's current user)."""
    async with wechat_env(env, policy=policy, reachable=True) as wx:
        await wx.use_openid("acme", OPENID)
        yield Stack(wx.g, wx.sim, wx.keys["acme"], wx.app_id)


class Phones:
    """Headless Chromium handing out fresh phones; any script error on a page fails the test."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.errors: list[str] = []

    async def new(self) -> Any:
        """A fresh page as WeChat's web view would open it: no cookies, phone-sized, China time."""
        context = await self.browser.new_context(viewport=PHONE, user_agent=WECHAT_UA, locale="zh-CN",
                                                 timezone_id=ZONE)
        page = await context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page


@asynccontextmanager
async def chromium() -> AsyncIterator[Phones]:
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        phones = Phones(browser)
        try:
            yield phones
        finally:
            await browser.close()
        assert not phones.errors, phones.errors


shot = shooter(SHOTS)


async def add_account(stack: Stack, login: str, name: str, password: str = PASSWORD, **extra: Any) -> None:
    await put_account(stack.g, "acme", stack.api_key, login, password, name=name,
                      position=extra.pop("position", "采购主管"), **extra)


async def open_login(page: Any, stack: Stack, next_page: str = "inbox") -> None:
    """Entry → the simulator's authorize page → OAuth → the login page of an unbound user."""
    await page.goto(stack.url(f"entry?next={next_page}"))
    await page.wait_for_url(re.compile(r"/wx/acme/login\?"))
    await page.wait_for_selector("#login-form")


async def submit_login(page: Any, login: str, password: str) -> None:
    await page.fill("#login-form input[name=login]", login)
    await page.fill("#login-form input[name=password]", password)
    await page.click("#login-form button[type=submit]")


async def login_message(page: Any, previous: str = "") -> str:
    """The text of the login message once it shows something other than `previous`."""
    # Polled from Python: the page's CSP forbids the eval that wait_for_function relies on.
    for _ in range(150):
        if await page.is_visible("#login-msg"):
            text: str = await page.inner_text("#login-msg")
            if text != previous:
                return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"the login message never changed from {previous!r}")


async def test_entry_oauth_login_binds_and_shows_inbox(env):
    async with wechat_stack(env) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三", position="采购主管")
        page = await browser.new()
        await open_login(page, stack)
        assert await page.title() == "登录绑定 · acme 制造"
        await shot(page, "login")
        await submit_login(page, "zhangsan", PASSWORD)
        await page.wait_for_url(stack.url("inbox"))
        await expect(page.locator("#me-name")).to_have_text("张三")
        assert "zhangsan · 采购主管" in await page.inner_text("#me-sub")
        assert await page.is_visible("#empty-wait")
        account = (await stack.api("GET", "/accounts/zhangsan")).json
        assert account["bound"] is True
        # Bound now: the menu entry goes straight to the page, without the login form.
        await page.goto(stack.url("entry?next=inbox"))
        await page.wait_for_url(stack.url("inbox"))
        await expect(page.locator("#me-name")).to_have_text("张三")
        # A fresh web view (no session cookie) of the same WeChat user is signed in by OAuth alone.
        other = await browser.new()
        await other.goto(stack.url("entry?next=inbox"))
        await other.wait_for_url(stack.at("inbox"))
        # Unbinding takes a second tap; then the phone is back at the login form.
        await page.click("#logout")
        await expect(page.locator("#logout")).to_have_text("再点一次确认解除")
        assert (await stack.api("GET", "/accounts/zhangsan")).json["bound"] is True
        await page.click("#logout")
        await page.wait_for_url(re.compile(r"/wx/acme/login\?next=inbox"))
        assert (await stack.api("GET", "/accounts/zhangsan")).json["bound"] is False


async def test_wrong_password_shows_remaining_attempts_then_lockout(env):
    async with wechat_stack(env, max_login_failures=3, lockout_minutes=15) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        page = await browser.new()
        await open_login(page, stack)
        await submit_login(page, "zhangsan", "wrong-password-1")
        first = await login_message(page)
        assert first == "账号或密码错误，还可尝试 2 次。"
        await shot(page, "login_wrong_password")
        await submit_login(page, "zhangsan", "wrong-password-2")
        assert await login_message(page, first) == "账号或密码错误，还可尝试 1 次。"
        await submit_login(page, "zhangsan", "wrong-password-3")
        third = await login_message(page, "账号或密码错误，还可尝试 1 次。")
        # The attempt that locks says until when, in Beijing time as the server words it (rounded up
        # to the minute), whatever the phone's clock or zone.
        locked_until = (await stack.api("GET", "/accounts/zhangsan")).json["locked_until"]
        until = datetime.fromtimestamp(-(-datetime.fromisoformat(locked_until).timestamp() // 60) * 60, ZoneInfo(ZONE))
        when = f"{until.month}月{until.day}日 {until:%H:%M}（北京时间）"
        assert third == f"账号或密码错误，账号已被锁定，请于 {when} 后再试。"
        # Locked now: even the right password is refused, with the same time.
        await submit_login(page, "zhangsan", PASSWORD)
        assert await login_message(page, third) == f"账号已锁定，请于 {when} 后再试。"
        await shot(page, "login_locked")
        assert page.url.startswith(stack.url("login"))


async def test_forced_password_change_after_admin_reset(env):
    async with wechat_stack(env, first_login_change_password=True, password_min_length=10) as stack, \
            chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        page = await browser.new()
        await open_login(page, stack)
        await submit_login(page, "zhangsan", PASSWORD)
        # The same screen asks for the new password once the old one is accepted.
        await page.wait_for_selector("#change-card:not([hidden])")
        assert await page.is_visible("#login-accepted") and await page.is_hidden("#login-submit")
        assert await page.is_hidden("#old-password-field")
        await page.wait_for_selector("#policy-rules:not([hidden]) li")
        # A weak password is refused and the message lists every rule it breaks.
        await page.fill("#password-form input[name=new_password]", "short1")
        await page.fill("#password-form input[name=confirm_password]", "short1")
        await page.click("#password-form button[type=submit]")
        await page.wait_for_selector("#password-msg:not([hidden])")
        assert (await page.inner_text("#password-msg")).startswith("密码不符合要求：")
        await shot(page, "password_forced")
        await page.fill("#password-form input[name=new_password]", "Second#2026pass")
        await page.fill("#password-form input[name=confirm_password]", "Second#2026pass")
        await page.click("#password-form button[type=submit]")
        # Signed in and still bound: the inbox opens, no second login.
        await page.wait_for_url(stack.url("inbox"))
        assert (await stack.api("GET", "/accounts/zhangsan")).json["bound"] is True

        # An administrator's reset: unbound at once, and the next login must change the password again.
        await add_account(stack, "zhangsan", "张三", password="Reset#2026pass")
        await page.goto(stack.url("inbox"))
        await page.wait_for_url(re.compile(r"/wx/acme/login\?"))
        await submit_login(page, "zhangsan", "Reset#2026pass")
        await page.wait_for_selector("#change-card:not([hidden])")
        await page.fill("#password-form input[name=new_password]", "Third#2026pass")
        await page.fill("#password-form input[name=confirm_password]", "Third#2026pass")
        await page.click("#password-form button[type=submit]")
        await page.wait_for_url(stack.url("inbox"))


async def test_password_page_changes_password_and_ends_binding(env):
    async with wechat_stack(env) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        page = await browser.new()
        await open_login(page, stack, "password")
        await submit_login(page, "zhangsan", PASSWORD)
        await page.wait_for_url(stack.url("password"))
        await page.fill("#password-form input[name=old_password]", "not-my-password")
        await page.fill("#password-form input[name=new_password]", "Other#2026pass")
        await page.fill("#password-form input[name=confirm_password]", "Other#2026pass")
        await page.click("#password-form button[type=submit]")
        await page.wait_for_selector("#password-msg:not([hidden])")
        # The server's 403 forbidden for a wrong current password, in words, with the attempts left.
        assert re.fullmatch(r"当前密码不正确，还可尝试 \d+ 次。", await page.inner_text("#password-msg"))
        await page.fill("#password-form input[name=old_password]", PASSWORD)
        await page.click("#password-form button[type=submit]")
        await page.wait_for_selector("#done-card:not([hidden])")
        assert (await stack.api("GET", "/accounts/zhangsan")).json["bound"] is False
        await page.goto(stack.url("inbox"))
        await page.wait_for_url(re.compile(r"/wx/acme/login\?"))


async def wait_for_sent(stack: Stack, doc_id: str, timeout: float = 20.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for message in await stack.sim.sent(stack.app_id):
            if message["touser"] == OPENID and f"doc/{doc_id}" in (message.get("url") or ""):
                return message
        assert loop.time() < deadline, "the template message never reached the simulator"
        await asyncio.sleep(0.2)


async def test_tapped_notification_opens_document_and_records_decision(env):
    async with wechat_stack(env) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        await add_account(stack, "lisi", "李四")
        page = await browser.new()
        await open_login(page, stack)
        await submit_login(page, "zhangsan", PASSWORD)
        await page.wait_for_url(stack.url("inbox"))

        doc = {"type": "采购申请", "title": "办公电脑采购（10 台）", "summary": "研发部新员工入职。",
               "applicant": "赵敏", "submitted_at": "2026-11-27T09:30:00+08:00",
               "fields": [{"label": "数量", "value": "10 台"}, {"label": "预算金额", "value": "¥ 68,000.00"},
                          {"label": "备注", "value": "<script>alert(1)</script>"}],
               "approvers": ["zhangsan", "lisi"], "cc": []}
        r = await stack.api("PUT", "/documents/PR-2026-0012", doc)
        assert r.status in (200, 201), r.text
        message = await wait_for_sent(stack, "PR-2026-0012")
        assert message["url"] == stack.url("entry?next=doc/PR-2026-0012")

        # The tap opens WeChat's web view afresh: entry → OAuth (bound user) → the document.
        tapped = await browser.new()
        await tapped.goto(message["url"])
        await tapped.wait_for_url(stack.at("doc/PR-2026-0012"))
        await tapped.wait_for_selector("#doc-card:not([hidden])")
        assert await tapped.inner_text("#doc-title") == "办公电脑采购（10 台）"
        assert "<script>alert(1)</script>" in await tapped.inner_text("#doc-fields")
        assert await tapped.is_visible("#decide-card")
        await shot(tapped, "doc")
        await tapped.fill("#decide-form textarea[name=comment]", "同意采购，请尽快下单")
        await tapped.click("#approve")
        await tapped.wait_for_selector("#mine-card:not([hidden])")
        assert (await tapped.inner_text("#mine-text")).startswith("您已同意")
        assert "同意采购，请尽快下单" in await tapped.inner_text("#mine-text")
        assert await tapped.is_hidden("#decide-card")
        await shot(tapped, "doc_decided")

        got = (await stack.api("GET", "/documents/PR-2026-0012")).json
        mine = next(r for r in got["recipients"] if r["login"] == "zhangsan")
        assert (mine["decision"], mine["comment"]) == ("approve", "同意采购，请尽快下单")
        events = (await stack.api("GET", "/events")).json["items"]
        decisions = [e for e in events if e["type"] == "document.decision"]
        assert decisions and decisions[-1]["data"]["login"] == "zhangsan"

        # The inbox lists the document among the decided ones, with a link back to it.
        await page.goto(stack.url("inbox"))
        await page.wait_for_selector("#done-section:not([hidden]) a[href='/wx/acme/doc/PR-2026-0012']")
        await shot(page, "inbox")


async def test_inbox_lists_waiting_approvals_before_copies(env):
    async with wechat_stack(env) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        base = {"type": "费用报销", "summary": "", "applicant": "李四", "submitted_at": "2026-11-28T14:05:00+08:00",
                "fields": []}
        for doc_id, title, role in (("EX-1", "差旅费报销", "approvers"), ("LV-1", "年假 3 天", "cc"),
                                    ("EX-2", "招待费报销", "approvers")):
            body = {**base, "title": title, "approvers": [], "cc": [], role: ["zhangsan"]}
            assert (await stack.api("PUT", f"/documents/{doc_id}", body)).status in (200, 201)
        page = await browser.new()
        await open_login(page, stack)
        await submit_login(page, "zhangsan", PASSWORD)
        await page.wait_for_url(stack.url("inbox"))
        await page.wait_for_selector("#list-wait:not([hidden]) li")
        waiting = await page.eval_on_selector_all("#list-wait a", "els => els.map(e => e.getAttribute('href'))")
        copies = await page.eval_on_selector_all("#list-cc a", "els => els.map(e => e.getAttribute('href'))")
        assert sorted(waiting) == ["/wx/acme/doc/EX-1", "/wx/acme/doc/EX-2"]
        assert copies == ["/wx/acme/doc/LV-1"]
        assert await page.inner_text("#count-wait") == "2"
        await shot(page, "inbox_waiting")
        # Waiting approvals come before copies on the page.
        assert await page.evaluate(
            "document.getElementById('list-wait').compareDocumentPosition(document.getElementById('list-cc'))"
            " & Node.DOCUMENT_POSITION_FOLLOWING")
        await page.click("#list-cc a")
        await page.wait_for_url(stack.url("doc/LV-1"))
        await page.wait_for_selector("#mine-card:not([hidden])")
        assert "抄送" in await page.inner_text("#mine-text")
        assert await page.is_hidden("#decide-card")


async def test_registration_page_when_allowed(env):
    async with wechat_stack(env, allow_mobile_registration=True) as stack, chromium() as browser:
        page = await browser.new()
        await open_login(page, stack)
        await page.click("text=申请注册")
        await page.wait_for_url(re.compile(r"/wx/acme/register"))
        await page.wait_for_selector("#policy-rules:not([hidden]) li")
        await page.fill("#register-form input[name=login]", "newcomer")
        await page.fill("#register-form input[name=name]", "新同事")
        await page.select_option("#register-form select[name=kind]", "supplier")
        await page.fill("#register-form input[name=password]", "Spring#2026xyz")
        await page.fill("#register-form input[name=confirm_password]", "Spring#2026xyz")
        await page.click("#register-form button[type=submit]")
        await page.wait_for_selector("#done-card:not([hidden])")
        done = await page.inner_text("#done-card")
        # What happens next: the administrator approves, then a sign-in from the menu binds this WeChat.
        assert "管理员" in done and "审核通过后" in done and "登录" in done
        assert await page.get_attribute("#back-to-login", "href") == "/wx/acme/login?next=inbox"
        await shot(page, "register_done")
        account = (await stack.api("GET", "/accounts/newcomer")).json
        assert (account["status"], account["name"]) == ("pending", "新同事")
        # Until the tenant approves it, signing in says so (and is not a failed attempt).
        await page.goto(stack.url("login?next=inbox"))
        await submit_login(page, "newcomer", "Spring#2026xyz")
        assert "等待管理员审核" in await login_message(page)
