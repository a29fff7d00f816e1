"""The console's people pages in headless Chromium: the accounts list with its filters, a
password reset confirmed and shown once, and the pending self-registrations approved, at laptop
and phone width. With GATEWAY_CONSOLE_SHOTS=docs/screenshots it writes the README's screenshots."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from phone import PASSWORD
from test_console_browser import LAPTOP, PHONE, chromium, operator_page, shot
from wechat_env import wechat_env

pytestmark = [pytest.mark.browser]


async def test_people_page_in_chromium(env) -> None:
    async with wechat_env(env, policy={"allow_mobile_registration": True}) as wx:
        for login, name, position in (("zhangsan", "张三", "采购经理"), ("lisi", "李四", "会计"),
                                      ("wangwu", "王五", "仓库主管")):
            await wx.put_account(login, name=name, position=position)
        await wx.put_account("zhaoliu", name="赵六", position="司机", active=False)
        phone = wx.phone()
        assert (await phone.sign_in("zhangsan", PASSWORD, openid="o_zhang")).status == 200
        applicant = wx.phone()
        await wx.use_openid("acme", "o_new")
        await applicant.open_entry("register")
        assert (await applicant.api("register", {"login": "sunqi", "name": "孙七", "password": PASSWORD})).status < 300
        async with chromium(wx.g.base_url) as b:
            page = await operator_page(b)
            await page.goto(b.url("/console/t/acme/people"))
            await expect(page.locator("#people tbody tr")).to_have_count(5)
            await expect(page.locator("tr[data-login='zhangsan'] .binding")).to_contain_text("已绑定")
            await shot(page, "console-people")
            await page.fill("#people-filter input[name=q]", "会计")
            await page.click("#people-filter button[type=submit]")
            await expect(page.locator("#people tbody tr")).to_have_count(1)
            await expect(page.locator("#people tbody tr")).to_have_attribute("data-login", "lisi")
            await page.goto(b.url("/console/t/acme/people"))
            await page.click("tr[data-login='zhangsan'] button[data-action=reset]")
            await expect(page.locator("#question")).to_contain_text("张三")
            await page.click("#confirm")
            await expect(page.locator("#secret-0")).to_have_text(re.compile(r"^\S{16}$"))
            await shot(page, "console-people-reset")
            await page.click("#continue")
            await expect(page.locator("tr[data-login='zhangsan'] .binding")).to_contain_text("未绑定")
            await page.click("a[href='/console/t/acme/people/pending']")
            await expect(page.locator("#people tbody tr")).to_have_count(1)
            await shot(page, "console-pending")
            await page.click("tr[data-login='sunqi'] button[data-action=approve]")
            await page.click("#confirm")
            await expect(page.locator("#flash")).to_contain_text("已批准")
            await expect(page.locator("#empty")).to_be_visible()
            narrow = await operator_page(b, PHONE)
            await narrow.goto(b.url("/console/t/acme/people"))
            await expect(narrow.locator("#people tbody tr")).to_have_count(5)
            await shot(narrow, "console-people-phone")
            assert LAPTOP["width"] > PHONE["width"]
        assert (await wx.tenant_api("GET", "/accounts/sunqi")).json["status"] == "active"
