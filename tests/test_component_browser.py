"""授权接入 in headless Chromium against the simulator: the operator starts it in the console, the
authorization page (the simulated WeChat) is confirmed, WeChat's redirect brings the browser back to a
new tenant in authorized mode whose checklist has only the remaining steps; the menu is pushed, a
person binds, a notification goes out with the authorizer's token, and revocation shows on the
checklist and stops the next one. With GATEWAY_CONSOLE_SHOTS=docs/screenshots the README's
screenshots are written there."""
from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from component_env import NEW_APP, NEW_GH, add_account_app, component_env
from harness import document, tenant_body, wait_for
from phone import PASSWORD, Phone, put_account
from test_console_browser import PHONE, chromium, operator_page, shot, step_state
from test_console_browser import pytestmark  # noqa: F401  (browser mark, skipped without Chromium)


async def test_authorizing_a_company_in_the_console(env) -> None:
    async with component_env(env) as w, chromium(w.g.base_url) as b:
        await add_account_app(w, NEW_APP, NEW_GH, name="新公司服务号")
        page = await operator_page(b)
        await page.click("#nav-component")
        await expect(page.locator("h1")).to_have_text("授权接入")
        await expect(page.locator("#ticket-state")).to_contain_text("已收到")
        await page.fill("input[name=slug]", "Not A Code")
        await page.fill("input[name=name]", "新公司")
        await page.click("#start-authorization")
        await expect(page.locator("#error-slug")).to_be_visible()
        await page.fill("input[name=slug]", "newco")
        await page.click("#start-authorization")
        await expect(page.locator("#authorization-qr svg")).to_be_visible()
        await shot(page, "component-1-link")

        await page.click("#pc-link")  # WeChat's page (simulated): pick the account and the permissions
        await expect(page.locator("#sim_authorize")).to_be_visible()
        await page.select_option("#sim_appid", NEW_APP)
        await shot(page, "component-2-wechat")
        await page.click("#sim_authorize")
        await expect(page.locator("h1")).to_have_text("授权成功，租户已创建")
        api_key = (await page.text_content("#secret-0") or "").strip()
        assert api_key.startswith("gk_")
        await page.click("#continue")
        await page.wait_for_url(re.compile(r"/console/t/newco/$"))
        await expect(page.locator("#mode-authorized")).to_be_visible()
        assert await page.locator("li.step").count() == 6
        assert await step_state(page, 1) in ("done", "unknown") and await step_state(page, 2) == "done"
        assert await step_state(page, 5) == "missing"
        await expect(page.locator("#url-callback")).to_have_count(0)  # nothing to type into WeChat
        await expect(page.locator("#authorized-account")).to_contain_text("新公司服务号")
        await expect(page.locator("#authorized-account")).to_contain_text(NEW_GH)

        r = await w.g.admin("PATCH", "/admin/api/tenants/newco", {"templates": tenant_body("newco")["templates"]})
        assert r.status == 200, r.text
        r = await w.g.admin("PUT", "/admin/api/tenants/newco/menu",
                            {"button": [{"type": "view", "name": "待办", "url": "entry:inbox"}]})
        assert r.status == 200, r.text
        await put_account(w.g, "newco", api_key, "li", name="李四")
        phone = Phone(w.g, "newco", sim=w.sim, app_id=NEW_APP)
        assert (await phone.sign_in("li", PASSWORD, "o_li")).status == 200
        r = await w.g.request("PUT", "/api/v1/newco/documents/B1", document(["li"]), token=api_key)
        assert r.status == 201, r.text
        await wait_for(lambda: w.sim.sent(NEW_APP), timeout=20)
        await page.click("#recheck")
        await expect(page.locator("li[data-step='5']")).to_have_attribute("data-state", "done")
        await expect(page.locator("li[data-step='6']")).to_have_attribute("data-state", "done")
        await shot(page, "component-3-checklist")

        await w.sim.component_revoke(NEW_APP)
        await page.reload()
        await expect(page.locator("#suspended")).to_be_visible()
        assert await step_state(page, 1) == "missing"
        await expect(page.locator("li[data-step='1'] .todo")).to_contain_text("重新扫码授权")
        await shot(page, "component-4-revoked")
        r = await w.g.request("PUT", "/api/v1/newco/documents/B2", document(["li"]), token=api_key)
        assert r.status == 201
        await asyncio.sleep(1.0)
        assert len(await w.sim.sent(NEW_APP)) == 1


async def test_the_authorization_link_on_a_phone(env) -> None:
    async with component_env(env) as w, chromium(w.g.base_url) as b:
        page = await operator_page(b, PHONE)
        await page.goto(b.url("/console/component"))
        await page.fill("input[name=slug]", "newco")
        await page.fill("input[name=name]", "新公司")
        await page.click("#start-authorization")
        qr = page.locator("#authorization-qr svg")
        await expect(qr).to_be_visible()
        box = await qr.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        href = await page.get_attribute("#mobile-link", "href")
        assert href is not None and "/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1" in href
        assert href.endswith("#wechat_redirect")
        await shot(page, "component-phone")
