"""The console's people and documents pages in headless Chromium: the accounts list with its
filters, a password reset confirmed and shown once, the pending self-registrations approved (at
laptop and phone width), and the documents with each delivery in words and a resend, and the webhooks page. With
GATEWAY_CONSOLE_SHOTS=docs/screenshots it writes the README's screenshots."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from harness import Receiver, document, wait_for
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


async def test_documents_page_in_chromium(env) -> None:
    async with wechat_env(env) as wx:
        await wx.put_account("zhangsan", name="张三", position="采购经理")
        await wx.put_account("lisi", name="李四", position="财务总监")
        phone = wx.phone()
        assert (await phone.sign_in("zhangsan", PASSWORD, openid="o_zhang")).status == 200
        await wx.g.gw.delivery.stop()
        for n, title in ((1, "采购申请：研发部笔记本电脑两台"), (2, "报销：三月差旅费"), (3, "请假：年假三天")):
            body = document(["zhangsan"], ["lisi"], title=title, applicant="王五（研发部）")
            assert (await wx.tenant_api("PUT", f"/documents/DOC-{n}", body)).status == 201
        await wx.g.gw.storage.execute("UPDATE outbox SET state = 'dead'")
        await wx.g.gw.storage.execute("UPDATE document_recipients SET delivery = 'failed:not_subscribed'"
                                      " WHERE login = 'zhangsan' AND document_id = (SELECT MIN(id) FROM documents)")
        await wx.g.gw.storage.execute("UPDATE document_recipients SET delivery = 'delivered', decision = 'approve',"
                                      " comment = '同意' WHERE login = 'zhangsan' AND delivery = 'queued'")
        async with chromium(wx.g.base_url) as b:
            page = await operator_page(b)
            await page.goto(b.url("/console/t/acme/documents"))
            await expect(page.locator("#documents tbody tr")).to_have_count(3)
            await expect(page.locator("tr[data-doc='DOC-1']")).to_contain_text("对方没有关注服务号")
            await shot(page, "console-documents")
            await page.click("tr[data-doc='DOC-1'] a")
            await expect(page.locator("#recipients button[data-action=resend]")).to_have_count(2)
            await shot(page, "console-document")
            await page.click("#recipients tr[data-login='lisi'] button[data-action=resend]")
            await expect(page.locator("#flash")).to_contain_text("已重新排队发送")


async def test_webhooks_page_in_chromium(env) -> None:
    async with Receiver() as receiver:
        async with env.gateway(security={"allow_private_webhooks": True}) as g:
            await g.create_tenant("acme", webapi_url=receiver.url())
            tenant = g.gw.registry.get("acme")
            receiver.script = [(500, {"Retry-After": "600"})]
            await g.gw.events.emit(tenant, "document.decision", {"doc_id": "PO-1", "login": "zhangsan",
                                                                 "decision": "approve"})
            g.gw.delivery.wake_webhooks()
            await wait_for(lambda: len(receiver.requests) == 1)
            await g.gw.events.emit(tenant, "account.registered", {"login": "sunqi", "name": "孙七"})
            g.gw.delivery.wake_webhooks()
            await wait_for(lambda: len(receiver.requests) == 2)
            async with chromium(g.base_url) as b:
                page = await operator_page(b)
                await page.goto(b.url("/console/t/acme/webhooks"))
                await expect(page.locator("#deliveries tbody tr")).to_have_count(2)
                await expect(page.locator("#deliveries tbody tr").last).to_contain_text("HTTP 500")
                await shot(page, "console-webhooks")
                await page.click("#pause")
                await expect(page.locator("#webhook-state")).to_contain_text("推送已暂停")
                await page.click("#resume")
                await expect(page.locator("#webhook-state")).to_contain_text("推送正常进行中")
