"""The simulated phone (/_sim/phone) in headless Chromium against a real gateway: follow -> menu ->
sign in and bind in the in-app browser -> a notification card arrives -> tap -> approve -> the
tenant's webhook receiver gets the signed decision; and scan-to-bind from a bind-qr call to `bound`.
With GATEWAY_DEMO_SHOTS=<dir> the screenshots of the README's walkthrough are written there."""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import quote

import pytest
from playwright.async_api import expect
from standardwebhooks import Webhook

from harness import Receiver, document, wait_for
from phone import PASSWORD, put_account
from screenshots import shooter
from test_pages_browser import CHROMIUM, CHROMIUM_ARGS
from wechat_env import WeChatEnv, wechat_env

SHOTS = os.environ.get("GATEWAY_DEMO_SHOTS")
DESKTOP = {"width": 1000, "height": 820}

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")]


@asynccontextmanager
async def phone_stack(env: Any) -> AsyncIterator[tuple[WeChatEnv, Receiver]]:
    """A reachable gateway + simulator, the default menu pushed, webhooks going to a receiver on
    loopback, and the simulator's phone allowed to frame the gateway's pages."""
    async with Receiver() as receiver, \
            wechat_env(env, reachable=True, security={"allow_private_webhooks": True}) as wx:
        wx.g.gw.settings.server.frame_ancestors = [wx.sim_url]
        r = await wx.g.admin("PATCH", "/admin/api/tenants/acme", {"webapi_url": receiver.url()})
        assert r.status == 200, r.text
        assert (await wx.g.admin("POST", "/admin/api/tenants/acme/menu/default")).status == 200
        await wx.sim.add_app(wx.app_id, name="Acme 制造", template_titles={"tpl_approver": "待审批提醒"},
                             template_labels={"thing1": "单据", "thing2": "申请人", "time3": "提交时间"})
        yield wx, receiver


@asynccontextmanager
async def desktop() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = await context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            await browser.close()
    assert not errors, errors


shot = shooter(SHOTS, full_page=False)


async def open_phone(page: Any, wx: WeChatEnv, openid: str) -> None:
    await page.goto(f"{wx.sim_url}/_sim/phone?app_id={wx.app_id}&openid={quote(openid)}")
    await expect(page.locator("#account-name")).to_have_text("Acme 制造")


def last_reply(page: Any) -> Any:
    return page.locator(".line:not(.me) .bubble").last


async def test_follow_menu_bind_notification_approve_webhook(env):
    async with phone_stack(env) as (wx, receiver), desktop() as page:
        await put_account(wx.g, "acme", wx.keys["acme"], "zhangsan", PASSWORD, name="张三")
        await wx.sim.add_user(wx.app_id, "o_zhangsan", subscribed=False, nickname="张三")
        await open_phone(page, wx, "o_zhangsan")
        await expect(page.locator("#follow-bar")).to_be_visible()
        await expect(page.locator("#menu .menu-btn")).to_have_text(["待办", "待办数", "≡ 我的"])

        await page.click("#follow")  # follow: the welcome with the binding link
        await expect(last_reply(page)).to_contain_text("欢迎关注acme 制造")
        await expect(page.locator("#follow-bar")).to_be_hidden()
        await page.click("#menu .menu-btn >> text=待办数")  # a click button: its passive reply
        await expect(last_reply(page)).to_contain_text("您还没有绑定账号")

        await last_reply(page).locator("a").click()  # the link opens the in-app browser: entry -> OAuth -> login
        frame = page.frame_locator("#browser-frame")
        await frame.locator("#login-form input[name=login]").fill("zhangsan")
        await frame.locator("#login-form input[name=password]").fill(PASSWORD)
        await frame.locator("#login-form button[type=submit]").click()
        await expect(frame.locator("#me-name")).to_have_text("张三")
        assert (await wx.tenant_api("GET", "/accounts/zhangsan")).json["bound"] is True
        await page.click("#browser-close")

        r = await wx.tenant_api("PUT", "/documents/PR-7", document(["zhangsan"], title="办公电脑采购（10 台）"))
        assert r.json["notifications"][0]["status"] == "queued", r.text
        card = page.locator(".card").last
        await expect(card).to_contain_text("待审批提醒", timeout=20000)
        await expect(card.locator("dl")).to_contain_text("单据办公电脑采购（10 台）申请人张三")

        await card.locator(".detail").click()  # 详情: entry -> OAuth (bound) -> the document
        await expect(frame.locator("#doc-title")).to_have_text("办公电脑采购（10 台）")
        await frame.locator("#decide-form textarea[name=comment]").fill("同意，请尽快下单")
        await frame.locator("#approve").click()
        await expect(frame.locator("#mine-text")).to_contain_text("您已同意")

        async def decision() -> Any:
            return next((r for r in receiver.requests if b"document.decision" in r["body"]), None)
        got = await wait_for(decision)
        headers = {k.lower(): v for k, v in got["headers"].items()}
        event = Webhook(wx.tenant.secrets.webhook_secret).verify(got["body"], headers)
        assert event["data"]["doc_id"] == "PR-7" and event["data"]["decision"] == "approve"
        assert event["data"]["comment"] == "同意，请尽快下单" and event["data"]["login"] == "zhangsan"


async def test_scan_to_bind_on_the_phone(env):
    async with phone_stack(env) as (wx, receiver), desktop() as page:
        await put_account(wx.g, "acme", wx.keys["acme"], "lisi", PASSWORD, name="李四")
        await wx.sim.add_user(wx.app_id, "o_lisi", subscribed=True, nickname="李四")
        code = (await wx.tenant_api("POST", "/accounts/lisi/bind-qr")).json
        # The business system's desktop shows the PNG; a real camera would read the URL it encodes.
        image = await page.goto(code["image_url"])
        assert image is not None and image.headers["content-type"] == "image/png"
        await shot(page, "scan-1-bind-qr")

        await open_phone(page, wx, "o_lisi")
        await page.fill("#scan-input", code["qr_url"])
        first_scan = int(time.time())
        await page.click("#scan-btn")
        await expect(last_reply(page)).to_contain_text("将此微信绑定到 李四（lisi）？")
        await last_reply(page).locator("a").click()
        frame = page.frame_locator("#browser-frame")
        await expect(frame.locator("h1").first).to_have_text("将此微信绑定到 李四（lisi）？")
        await shot(page, "scan-2-confirm")
        await frame.locator("#bind-confirm").click()
        await expect(frame.locator("#bind-done-text")).to_contain_text("此微信已绑定到 李四（lisi）")
        status = await wx.tenant_api("GET", f"/bind-qr/{quote(code['ticket'], safe='')}")
        assert status.json["status"] == "bound"
        await frame.locator("#bind-inbox").click()
        await expect(frame.locator("#me-name")).to_have_text("李四")
        await shot(page, "scan-3-bound")

        async def bound() -> Any:
            return [json.loads(r["body"]) for r in receiver.requests if b"account.bound" in r["body"]]
        events = await wait_for(bound)
        assert events[0]["data"] == {"login": "lisi", "openid": "o_lisi"}

        await page.click("#browser-close")  # the same code again: WeChat's reply says it is used
        # WeChat stamps events in whole seconds, and the same scan event in the same second is a
        # retry (answered with the first reply): a person scans again a second later at the soonest.
        while int(time.time()) <= first_scan + 1:
            await asyncio.sleep(0.1)
        await page.fill("#scan-input", code["ticket"])
        await page.click("#scan-btn")
        await expect(last_reply(page)).to_contain_text("已经用过")
        assert not re.search(r"https?://", await last_reply(page).inner_text())


async def test_the_demo_walkthrough_as_a_newcomer_sees_it(tmp_path):
    """`python server.py --demo`, then only the browser: the printed phone URL, the side panel's steps."""
    from harness import free_port
    from test_demo import PASSWORD as DEMO_PASSWORD, run_demo
    async with run_demo(tmp_path, free_port()) as demo, desktop() as page:
        phone = (await demo.wait_for_line(r"Open first: (\S+)")).group(1)
        business = (await demo.wait_for_line(r"Business system .*: (\S+)")).group(1)
        await demo.wait_for_line(r"Gateway listening")
        await page.goto(phone)
        await expect(page.locator("#hint")).to_contain_text("点「关注公众号」")
        assert await page.get_attribute("#hint a", "href") == business
        await shot(page, "demo-1-phone")
        await page.click("#follow")
        await expect(last_reply(page)).to_contain_text("欢迎关注演示科技有限公司")
        await page.click("#menu .menu-btn >> text=待办数")
        await expect(last_reply(page)).to_contain_text("您还没有绑定账号")
        await shot(page, "demo-2-menu")
        await last_reply(page).locator("a").click()
        frame = page.frame_locator("#browser-frame")
        await frame.locator("#login-form input[name=login]").fill("zhangsan")
        await frame.locator("#login-form input[name=password]").fill(DEMO_PASSWORD)
        await shot(page, "demo-3-sign-in")
        await frame.locator("#login-form button[type=submit]").click()
        await expect(frame.locator("#me-name")).to_have_text("张三")
        await page.click("#browser-close")
        # The business system saw account.bound and sent zhangsan's documents again: three cards.
        await expect(page.locator(".card")).to_have_count(3, timeout=30000)
        card = page.locator(".card", has_text="办公电脑采购")
        await expect(card).to_contain_text("待审批提醒")
        await shot(page, "demo-4-notifications")
        await card.locator(".detail").click()
        await expect(frame.locator("#doc-title")).to_have_text("办公电脑采购（10 台）")
        await frame.locator("#approve").click()
        await expect(frame.locator("#mine-text")).to_contain_text("您已同意")
        await shot(page, "demo-5-approved")
        await page.goto(business)
        await expect(page.locator("table")).to_contain_text("zhangsan 对单据 PR-2026-0012 的决定：同意")
        assert "签名无效" not in await page.inner_text("table")
        await shot(page, "demo-6-webhook")
        await page.click("text=为 张三 生成绑定二维码")
        await expect(page.locator("img[alt=绑定二维码]")).to_be_visible()
        assert await demo.stop() == 0
        assert "Traceback" not in "".join(demo.lines)
