"""Headless Chromium on a phone viewport (CJK font from .ci/run): a document with attachments and
a tap that opens one through the gateway, the one-step first sign-in (old password accepted, then
the new one on the same screen), and a styled error page with its English switch. Screenshots go
to $GATEWAY_PHONE_SHOTS (docs/screenshots for the README)."""
from __future__ import annotations

import io
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import segno

from business_files import BusinessFiles, answer
from harness import document
from screenshots import shooter
from test_pages_browser import (CHROMIUM, OPENID, PASSWORD, Stack, add_account, chromium, open_login,
                                submit_login)
from wechat_env import wechat_env

import pytest

SHOTS = os.environ.get("GATEWAY_PHONE_SHOTS")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")]


def png() -> bytes:
    out = io.BytesIO()
    segno.make("INV-2026-0042 ¥12,000").save(out, kind="png", scale=10, border=2)
    return out.getvalue()


shot = shooter(SHOTS)


@asynccontextmanager
async def stack_with_files(env: Any, **policy: Any) -> AsyncIterator[Stack]:
    async with wechat_env(env, policy=policy, reachable=True, security={"allow_private_webhooks": True}) as wx:
        await wx.use_openid("acme", OPENID)
        yield Stack(wx.g, wx.sim, wx.keys["acme"], wx.app_id)


async def test_document_with_attachments_and_a_tap_on_one(env):
    image = png()
    scripts = {"/f/quote.pdf": answer(b"%PDF-1.4\n%%EOF\n", "application/octet-stream"),
               "/f/site.png": answer(image, "application/octet-stream")}
    async with BusinessFiles(scripts) as files, stack_with_files(env) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        listed = [
            {"name": "供应商报价单.pdf", "url": files.url("/f/quote.pdf"), "size": 1_260_000,
             "content_type": "application/pdf"},
            {"name": "到货现场照片.png", "url": files.url("/f/site.png"), "size": len(image), "content_type": "image/png"},
            {"name": "采购明细（含税）.xlsx", "url": files.url("/f/items.xlsx"), "size": 48_300,
             "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
            {"name": "采购合同草稿.docx", "url": files.url("/f/contract.docx"), "size": 236_000,
             "content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        ]
        body = document(["zhangsan"], title="办公电脑采购（研发部 6 台）", summary="研发部新员工入职，采购 ThinkPad X1 六台。",
                        attachments=listed,
                        fields=[{"label": "金额", "value": "¥72,000.00"}, {"label": "供应商", "value": "联想华东分公司"}])
        assert (await stack.api("PUT", "/documents/PO-7", body)).status == 201
        page = await browser.new()
        await open_login(page, stack, "doc/PO-7")
        await submit_login(page, "zhangsan", PASSWORD)
        await page.wait_for_url(stack.at("doc/PO-7"))
        await page.wait_for_selector("#doc-card:not([hidden])")
        card = page.locator("#attachments-card")
        assert await card.is_visible()
        text = await card.inner_text()
        for expected in ("供应商报价单.pdf", "1.2 MB", "到货现场照片.png", "采购明细（含税）.xlsx", "47 KB", "采购合同草稿.docx"):
            assert expected in text, text
        assert str(files.port) not in await page.content()
        await shot(page, "phone-doc-attachments")
        # A tap opens the photo in the web view, fetched through the gateway under the listed type.
        async with page.expect_response(re.compile(r"/wx/acme/doc/PO-7/files/1$")) as info:
            await page.click("text=到货现场照片.png")
        response = await info.value
        assert response.status == 200 and response.headers["content-type"] == "image/png"
        assert await response.body() == image
        assert files.hits == ["/f/site.png"]


async def test_first_sign_in_in_one_step(env):
    policy = {"first_login_change_password": True, "password_min_length": 10,
              "password_classes": ["digit", "upper", "lower"]}
    async with stack_with_files(env, **policy) as stack, chromium() as browser:
        await add_account(stack, "zhangsan", "张三")
        assert (await stack.api("PUT", "/documents/PO-8", document(["zhangsan"]))).status == 201
        page = await browser.new()
        await open_login(page, stack, "doc/PO-8")
        await page.fill("#login-form input[name=login]", "zhangsan")
        await page.fill("#login-form input[name=password]", PASSWORD)
        await shot(page, "phone-first-sign-in-1")
        await page.click("#login-form button[type=submit]")
        # Same screen: the old password accepted, the new one asked for right below.
        await page.wait_for_selector("#change-card:not([hidden])")
        await page.wait_for_selector("#policy-rules:not([hidden]) li")
        assert page.url.startswith(stack.url("login"))
        assert await page.is_visible("#login-accepted")
        assert await page.input_value("#login-form input[name=login]") == "zhangsan"
        await page.fill("#password-form input[name=new_password]", "weakpass")
        await page.fill("#password-form input[name=confirm_password]", "weakpass")
        await page.click("#password-form button[type=submit]")
        await page.wait_for_selector("#password-msg:not([hidden])")
        message = await page.inner_text("#password-msg")
        for rule in ("至少需要 10 个字符", "必须包含数字", "必须包含大写字母"):
            assert rule in message, message
        await shot(page, "phone-first-sign-in-2")
        await page.fill("#password-form input[name=new_password]", "Summer2026Pass")
        await page.fill("#password-form input[name=confirm_password]", "Summer2026Pass")
        await page.click("#password-form button[type=submit]")
        # Bound and signed in: the document the notification pointed at opens; no second login.
        await page.wait_for_url(stack.at("doc/PO-8"))
        await page.wait_for_selector("#decide-card:not([hidden])")
        assert (await stack.api("GET", "/accounts/zhangsan")).json["bound"] is True


async def test_error_page_with_english_switch(env):
    async with stack_with_files(env) as stack, chromium() as browser:
        page = await browser.new()
        response = await page.goto(f"{stack.g.base_url}/wx/nobody/inbox")
        assert response is not None and response.status == 404
        heading = page.locator(".error-card h1:visible")
        assert await heading.inner_text() == "页面不存在"
        assert "服务号" in await page.locator(".error-card .hint:visible").inner_text()
        await shot(page, "phone-error")
        await page.click("label.lang-toggle")
        assert await heading.inner_text() == "This page does not exist"
        assert await page.locator("label.lang-toggle").inner_text() == "中文"
        await shot(page, "phone-error-english")
        # A stale sign-in link: the next step is one tap away.
        response = await page.goto(stack.url("oauth?code=stale"))
        assert response is not None and response.status == 400
        assert await page.locator(".error-card h1:visible").inner_text() == "登录链接已失效"  # Chinese first again
        assert await page.locator(".error-card a.btn:visible").inner_text() == "重新进入"
        await shot(page, "phone-error-state")
