"""The console in headless Chromium: a person who never saw the API onboards a tenant end to end
against the WeChat simulator (the checklist turning green step by step), each form's save and its
error case, sign-in, lockout and tenant isolation, at laptop and phone width. With
GATEWAY_CONSOLE_SHOTS=docs/screenshots the tests write the README's screenshots there."""
from __future__ import annotations

import os
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from playwright.async_api import expect

from harness import OPERATOR_TOKEN, Receiver, tenant_body, wait_for
from screenshots import shooter
from wechat_env import app_id_of, register_app, wechat_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("GATEWAY_CONSOLE_SHOTS")
NEW_PASSWORD = "Console#Admin2026"

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")]


class Browser:
    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser, self.base_url = browser, base_url
        self.errors: list[str] = []

    async def page(self, viewport: dict[str, int] = LAPTOP) -> Any:
        context = await self.browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def url(self, path: str) -> str:
        return self.base_url + path


@asynccontextmanager
async def chromium(base_url: str) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser = Browser(launched, base_url)
        try:
            yield browser
        finally:
            await launched.close()
        assert not browser.errors, browser.errors


shot = shooter(SHOTS)


async def operator_page(b: Browser, viewport: dict[str, int] = LAPTOP) -> Any:
    page = await b.page(viewport)
    await page.goto(b.url("/console/"))
    await page.wait_for_url(re.compile(r"/console/login"))
    await page.click("summary")
    await page.fill("#token-form input[name=operator_token]", OPERATOR_TOKEN)
    await page.click("#token-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/console/$"))
    return page


async def step_state(page: Any, number: int) -> str:
    return str(await page.get_attribute(f"li[data-step='{number}']", "data-state"))


async def test_onboarding_a_tenant_end_to_end_in_the_console(env) -> None:
    async with wechat_env(env, slugs=(), reachable=True, security={"allow_private_webhooks": True}) as wx, \
            Receiver() as receiver, chromium(wx.g.base_url) as b:
        wechat = tenant_body("acme")["wechat"]
        await register_app(wx.sim, "acme", callback_url=f"{wx.g.base_url}/wx/acme/callback")
        page = await operator_page(b)
        await expect(page.locator("#no-tenants")).to_be_visible()

        # Create: an AppID of the wrong shape is named next to its field, nothing is created.
        await page.click("text=新建租户")
        await page.fill("input[name=slug]", "acme")
        await page.fill("input[name=name]", "Acme 制造")
        await page.fill("input[name=app_id]", "wx-not-an-app-id")
        await page.fill("input[name=app_secret]", wechat["app_secret"])
        await page.click("#tenant-form button[type=submit]")
        await expect(page.locator("#error-app_id")).to_contain_text("wx 开头")
        await shot(page, "console-new-tenant-error")
        assert wx.g.gw.registry.get("acme") is None
        await page.fill("input[name=app_id]", wechat["app_id"])
        await page.fill("input[name=app_secret]", wechat["app_secret"])
        await page.fill("#token-input", wechat["token"])
        await page.click("#tenant-form button[type=submit]")
        await expect(page.locator("h1")).to_have_text("租户已创建")
        api_key = (await page.text_content("#secret-0")).strip()
        assert api_key.startswith("gk_")
        await page.click("#continue")

        # The checklist: nothing known yet; "检查" fetches a token from the simulator.
        await page.wait_for_url(re.compile(r"/console/t/acme/$"))
        assert await step_state(page, 3) == "unknown" and await step_state(page, 7) == "missing"
        await expect(page.locator("li[data-step='5'] .todo")).to_contain_text("127.0.0.1")
        text = await page.text_content("#steps")
        assert not re.search(r"\b(PUT|PATCH|POST|GET|JSON)\b|app_secret|webapi_url", text)
        await page.click("#recheck")
        await expect(page.locator("li[data-step='3']")).to_have_attribute("data-state", "done")
        assert await step_state(page, 4) == "done" and await step_state(page, 1) == "done"

        # Verify file: a renamed file is refused, the real one served at the domain's root.
        await page.click("li[data-step='5'] a.btn")
        await page.set_input_files("input[type=file]", {"name": "verify.txt", "mimeType": "text/plain",
                                                        "buffer": b"abc123"})
        await page.click("#upload")
        await expect(page.locator("#error-file")).to_contain_text("MP_verify_")
        await page.set_input_files("input[type=file]", {"name": "MP_verify_Ab12Cd.txt", "mimeType": "text/plain",
                                                        "buffer": b"Ab12Cd\n"})
        await page.click("#upload")
        await expect(page.locator("#flash")).to_contain_text("校验文件已上传")
        assert (await wx.g.request("GET", "/MP_verify_Ab12Cd.txt")).text == "Ab12Cd"

        # Menu: a name over WeChat's limit is shown while typing and refused; the default is pushed.
        await page.click("text=服务号菜单")
        await page.fill("input[name=b0_name]", "我的待办审批事项")
        await expect(page.locator("input[name=b0_name] ~ .bytes")).to_have_class(re.compile("over"))
        await expect(page.locator(".pm-item[data-top='0'] .pm-name")).to_have_text("我的待办审批事项")
        await page.click("#push-menu")
        await expect(page.locator("#error-b0_name")).to_contain_text("最多 4 个汉字")
        assert await wx.sim.menu(app_id_of("acme")) is None
        await shot(page, "console-menu-error")
        await page.fill("input[name=b0_name]", "待办")
        await page.click("#push-menu")
        await expect(page.locator("#wechat-answer")).to_contain_text("errcode 0")
        pushed = await wx.sim.menu(app_id_of("acme"))
        assert pushed["button"][0]["url"].startswith(f"{wx.g.base_url}/wx/acme/entry?next=inbox")
        await shot(page, "console-menu")

        # WeChat calls the server URL: the last step turns green.
        await wx.sim.push_event(app_id_of("acme"), "o_console_0001", "subscribe")
        await wait_for(lambda: wx.g.gw.state.get(wx.g.gw.registry.require("acme").id, "callback_seen"))
        await page.click("text=接入检查表")
        for number in (1, 2, 3, 4, 5, 7, 8):
            assert await step_state(page, number) == "done", number
        await shot(page, "console-checklist")

        # Settings: errors shown per field and nothing saved; then saved through the registry.
        await page.click("text=功能设定")
        await page.fill("input[name=max_login_failures]", "0")
        await page.fill("input[name=webapi_url]", "ftp://example.com")
        await page.click("#save-settings")
        await expect(page.locator("#error-max_login_failures")).to_contain_text("1 到 100")
        await expect(page.locator("#error-webapi_url")).to_contain_text("http")
        await shot(page, "console-settings-error")
        assert wx.g.gw.registry.require("acme").policy["max_login_failures"] == 5
        await page.fill("input[name=max_login_failures]", "6")
        await page.fill("input[name=webapi_url]", receiver.url())
        await page.check("input[name=allow_mobile_registration]")
        await page.click("#save-settings")
        await expect(page.locator("#flash")).to_contain_text("设置已保存")
        tenant = wx.g.gw.registry.require("acme")
        assert tenant.policy["max_login_failures"] == 6 and tenant.policy["allow_mobile_registration"] is True
        assert tenant.webapi_url == receiver.url() and tenant.secrets.app_secret == wechat["app_secret"]
        await shot(page, "console-settings")

        # Templates: a malformed line is refused; the preview cuts the long title to thing's 20 characters.
        await page.click("text=消息模板")
        await page.fill("input[name=approver_template_id]", "tpl_approver")
        await page.fill("textarea[name=approver_data]", "thing1 {title}")
        await page.click("#save-templates")
        await expect(page.locator("#error-approver_data")).to_contain_text("关键字 = 内容")
        await page.fill("textarea[name=approver_data]", "thing1 = {title}\nthing2 = {applicant}\ntime3 = {submitted_at}")
        await page.fill("input[name=cc_template_id]", "tpl_cc")
        await page.fill("textarea[name=cc_data]", "thing1 = {title}")
        await page.click("#preview")
        value = await page.locator("#preview-approver .pv-val").first.text_content()
        assert len(value) == 20 and value.endswith("…")
        await page.click("#save-templates")
        await expect(page.locator("#flash")).to_contain_text("模板已保存")
        assert wx.g.gw.registry.require("acme").templates["cc"] == {"template_id": "tpl_cc",
                                                                    "data": {"thing1": "{title}"}}
        await shot(page, "console-templates")

        # Keyword replies: an over-long reply is refused, a rule saved and answered by the gateway.
        await page.click("text=关键词回复")
        await page.locator("input[name=keyword]").nth(0).fill("电话")
        await page.locator("textarea[name=reply]").nth(0).fill("回" * 700)
        await page.click("#save-replies")
        await expect(page.locator("#error-reply0")).to_contain_text("最多约 600 个汉字")
        assert wx.g.gw.registry.require("acme").replies == []
        await page.locator("input[name=keyword]").nth(0).fill("电话")
        await page.locator("textarea[name=reply]").nth(0).fill("客服电话 400-000-0000")
        await page.click("#save-replies")
        await expect(page.locator("#flash")).to_contain_text("已保存")
        reply = await wx.sim.push_text(app_id_of("acme"), "o_console_0001", "电话")
        assert "400-000-0000" in str(reply)

        # Keys: a test event reaches the receiver, signed; the API key rotates and the old one stops.
        await page.click("text=密钥与推送")
        await page.click("#test-event")
        await expect(page.locator("#test-result")).to_contain_text("HTTP 204")
        assert receiver.requests and receiver.requests[-1]["headers"].get("Webhook-Signature", "").startswith("v1,")
        await shot(page, "console-keys")
        await page.click("#rotate-api-key")
        new_key = (await page.text_content("#secret-0")).strip()
        assert new_key != api_key
        assert (await wx.g.request("GET", "/api/v1/acme/events", token=api_key)).status == 401
        assert (await wx.g.request("GET", "/api/v1/acme/events", token=new_key)).status == 200

        # The tenants list at a glance, and the checklist on a phone.
        await page.goto(b.url("/console/"))
        await expect(page.locator("tr[data-slug='acme'] .pill").first).to_have_text("7 / 8")
        await shot(page, "console-tenants")
        phone = await operator_page(b, PHONE)
        await phone.goto(b.url("/console/t/acme/"))
        await expect(phone.locator("#steps")).to_be_visible()
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        await shot(phone, "console-checklist-phone")
        audit = (await wx.g.admin("GET", "/admin/api/tenants/acme/audit?limit=1000")).json["items"]
        assert {"tenant.changed", "menu.pushed", "tenant.verify_file", "tenant.api_key_rotated"} <= {
            a["action"] for a in audit if a["actor"] == "operator"}


async def test_sign_in_lockout_and_isolation_in_the_browser(env) -> None:
    async with env.gateway() as g, chromium(g.base_url) as b:
        await g.create_tenant("acme", policy={"max_login_failures": 3})
        await g.create_tenant("beta")
        op = await operator_page(b)
        await shot(op, "console-tenants-list")
        await op.goto(b.url("/console/t/acme/admins"))
        await op.fill("#account-form input[name=login]", "alice")
        await op.click("#account-form button[type=submit]")
        first = (await op.text_content("#new-password")).strip()
        await shot(op, "console-admins")
        await op.fill("#account-form input[name=login]", "Alice")
        await op.click("#account-form button[type=submit]")
        await expect(op.locator("#error-login")).to_contain_text("已经存在")

        admin = await b.page()
        await admin.goto(b.url("/console/login"))
        await shot(admin, "console-login")
        for field, value in (("slug", "acme"), ("login", "alice"), ("password", first)):
            await admin.fill(f"#login-form input[name={field}]", value)
        await admin.click("#login-form button[type=submit]")
        await admin.wait_for_url(re.compile(r"/console/account/password$"))
        await admin.fill("input[name=current]", first)
        await admin.fill("input[name=new]", "short")
        await admin.click("#password-form button[type=submit]")
        await expect(admin.locator(".field-error")).to_contain_text("至少需要 10 个字符")
        await admin.fill("input[name=current]", first)
        await admin.fill("input[name=new]", NEW_PASSWORD)
        await admin.click("#password-form button[type=submit]")
        await admin.wait_for_url(re.compile(r"/console/t/acme/$"))
        await expect(admin.locator(".side")).not_to_contain_text("租户列表")
        response = await admin.goto(b.url("/console/t/beta/settings"))
        assert response.status == 404
        await expect(admin.locator("h1")).to_have_text("页面不存在")
        await admin.click("#lang-switch")
        await expect(admin.locator("h1")).to_have_text("Page not found")
        await admin.goto(b.url("/console/t/acme/settings"))
        await expect(admin.locator("#save-settings")).to_have_text("Save settings")
        await shot(admin, "console-settings-english")
        await admin.click("#logout")
        await admin.wait_for_url(re.compile(r"/console/login$"))
        assert (await admin.goto(b.url("/console/t/acme/settings"))).url.startswith(b.url("/console/login"))

        thief = await b.page()
        await thief.goto(b.url("/console/login"))
        for attempt in range(4):
            for field, value in (("slug", "acme"), ("login", "alice"), ("password", f"guess-{attempt}")):
                await thief.fill(f"#login-form input[name={field}]", value)
            await thief.click("#login-form button[type=submit]")
            await expect(thief.locator("#login-error")).to_be_visible()
        await expect(thief.locator("#login-error")).to_contain_text("已锁定")
        await shot(thief, "console-locked")
        for field, value in (("slug", "acme"), ("login", "alice"), ("password", NEW_PASSWORD)):
            await thief.fill(f"#login-form input[name={field}]", value)
        await thief.click("#login-form button[type=submit]")
        await expect(thief.locator("#login-error")).to_contain_text("已锁定")  # even the right password

        await op.goto(b.url("/console/t/beta/delete"))
        await op.fill("input[name=confirm]", "acme")
        await op.click("#delete-form button[type=submit]")
        await expect(op.locator("#error-confirm")).to_be_visible()
        assert g.gw.registry.get("beta") is not None
        await op.fill("input[name=confirm]", "beta")
        await op.click("#delete-form button[type=submit]")
        await op.wait_for_url(re.compile(r"/console/\?deleted=beta$"))
        assert g.gw.registry.get("beta") is None
        await expect(op.locator("tr[data-slug='beta']")).to_have_count(0)
