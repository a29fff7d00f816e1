"""The approver's phone in headless Chromium (a phone viewport, a CJK font): the inbox's 待办 and
已处理 tabs, a document with its people by name and its timeline, a comment written on the page,
the hint that fits the document's type, and times in the tenant's zone whatever the phone's.
With GATEWAY_PHONE_SHOTS=<dir> the README's screenshots are written there."""
from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from phone import PASSWORD, sign_in
from screenshots import shooter
from test_pages_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, WECHAT_UA, open_login, submit_login
from wechat_env import WeChatEnv, wechat_env

SHOTS = os.environ.get("GATEWAY_PHONE_SHOTS")
OPENID = "o_zhangsan_phone"
PHONE_ZONE = "America/Los_Angeles"  # the phone's own zone and clock must not matter

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")]

PEOPLE = {"zhangsan": "张三", "liming": "李明", "liming2": "李明", "wangwu": "王五", "zhaomin": "赵敏"}
PURCHASE = {"type": "采购申请", "title": "办公电脑采购（10 台）", "summary": "研发部新员工入职，采购笔记本电脑。",
            "applicant": "zhaomin", "submitted_at": "2026-11-27T09:30:00+08:00",
            "fields": [{"label": "数量", "value": "10 台"}, {"label": "预算金额", "value": "¥ 68,000.00"}],
            "approvers": ["liming", "zhangsan", "liming2"], "cc": ["wangwu"]}


def doc(doc_id_type: str, title: str, approvers: list[str], cc: list[str]) -> dict[str, Any]:
    return {"type": doc_id_type, "title": title, "summary": "", "applicant": "zhaomin",
            "submitted_at": "2026-11-28T14:05:00+08:00", "fields": [], "approvers": approvers, "cc": cc}


@asynccontextmanager
async def phone_page() -> AsyncIterator[tuple[Any, list[str]]]:
    from playwright.async_api import async_playwright
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=PHONE, user_agent=WECHAT_UA, locale="zh-CN",
                                            timezone_id=PHONE_ZONE, device_scale_factor=2)
        page = await context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page, errors
        finally:
            await browser.close()
    assert not errors, errors


shot = shooter(SHOTS)


async def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_inner_texts()]


async def settle(page: Any, selector: str, expected: int) -> None:
    for _ in range(150):
        if await page.locator(selector).count() == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{selector} never reached {expected} entries")


async def seed(wx: WeChatEnv) -> None:
    for login, name in PEOPLE.items():
        await wx.put_account(login, PASSWORD, name=name, position="采购主管" if login == "zhangsan" else "经理")
    others = {login: await sign_in(wx.g, wx.sim, wx.app_id, "acme", wx.keys["acme"], login, create=False)
              for login in ("liming", "wangwu")}
    docs = [("PR-2026-0012", PURCHASE),
            ("LV-2026-0031", doc("请假申请", "年假 3 天（12 月 15-17 日）", ["liming"], ["zhangsan"])),
            ("EX-2026-0108", doc("费用报销", "11 月差旅费报销", ["zhangsan"], [])),
            ("PR-2026-0009", doc("采购申请", "会议室投影仪更换", ["zhangsan"], [])),
            ("CT-2026-0004", doc("合同审批", "年度保洁服务合同", ["liming"], ["zhangsan"])),
            ("EX-2026-0111", doc("费用报销", "客户招待费报销", ["zhangsan"], []))]
    for doc_id, body in docs:
        assert (await wx.tenant_api("PUT", f"/documents/{doc_id}", body)).status == 201
    liming, wangwu = others["liming"], others["wangwu"]
    r = await liming.post("/wx/acme/api/documents/PR-2026-0012/decision", {"decision": "approve", "comment": "同意，预算内"})
    assert r.status == 200, r.text
    r = await wangwu.post("/wx/acme/api/documents/PR-2026-0012/comments", {"comment": "请确认是否含三年保修"})
    assert r.status == 201, r.text
    await wx.use_openid("acme", OPENID)  # the browser is zhangsan's WeChat


async def test_inbox_history_document_timeline_and_comment(env):
    async with wechat_env(env, reachable=True) as wx, phone_page() as (page, _):
        await seed(wx)
        await open_login(page, _Stack(wx))
        await submit_login(page, "zhangsan", PASSWORD)
        await page.wait_for_url(f"{wx.g.base_url}/wx/acme/inbox")
        # zhangsan decided two documents earlier (through the API of his own session) and one closed.
        for doc_id, decision in (("EX-2026-0108", "approve"), ("PR-2026-0009", "reject")):
            r = await page.request.post(f"{wx.g.base_url}/wx/acme/api/documents/{doc_id}/decision",
                                        data={"decision": decision},
                                        headers={"X-XSRFToken": await _xsrf(page)})
            assert r.status == 200, await r.text()
        await wx.tenant_api("POST", "/documents/EX-2026-0108/close", {"status": "approved"})
        await wx.tenant_api("POST", "/documents/PR-2026-0009/close", {"status": "rejected"})
        await wx.tenant_api("POST", "/documents/CT-2026-0004/close", {"status": "withdrawn"})

        await page.goto(f"{wx.g.base_url}/wx/acme/inbox")
        await settle(page, "#list-wait li", 2)
        assert await page.inner_text("#me-name") == "张三"
        waiting = await texts(page, "#list-wait .title")
        assert waiting == ["费用报销客户招待费报销", "采购申请办公电脑采购（10 台）"]  # newest first
        assert await texts(page, "#list-cc .title") == ["请假申请年假 3 天（12 月 15-17 日）"]
        assert all(m.startswith("赵敏 提交 · ") for m in await texts(page, "#list-wait .meta"))
        assert await page.is_hidden("#panel-history")
        await shot(page, "phone-inbox")

        # The document: people by name (the two 李明 told apart by login), the timeline, the hint.
        await page.click("#list-wait a[href='/wx/acme/doc/PR-2026-0012']")
        await page.wait_for_selector("#doc-card:not([hidden])")
        assert await page.inner_text("#doc-meta") == "申请人：赵敏 · 提交于 2026-11-27 09:30"
        people = await texts(page, "#recipients .who")
        assert people == ["李明（liming）", "我（张三）", "李明（liming2）", "王五"]
        assert await page.inner_text("#doc-status") == "待我审批"
        assert "采购" in await page.get_attribute("#decide-form textarea", "placeholder")
        timeline = await texts(page, "#timeline li")
        assert len(timeline) == 2 and timeline[0].startswith("李明（liming） 同意") and "同意，预算内" in timeline[0]
        assert timeline[1].startswith("王五 评论") and "请确认是否含三年保修" in timeline[1]
        await page.fill("#comment-form textarea", "含三年上门保修，已和供应商确认")
        await page.click("#comment-send")
        await settle(page, "#timeline li", 3)
        assert (await texts(page, "#timeline li"))[2].startswith("我（张三） 评论")
        assert await page.inner_text("#comment-msg") == "评论已发表。"
        await page.fill("#decide-form textarea", "同意采购")
        await page.click("#approve")
        await page.wait_for_selector("#mine-card:not([hidden])")
        assert await page.inner_text("#doc-status") == "已处理"
        await settle(page, "#timeline li", 4)
        when = (await texts(page, "#timeline .when"))[-1]
        feed = (await wx.tenant_api("GET", "/events")).json["items"]
        assert [e["data"]["login"] for e in feed if e["type"] == "document.commented"] == ["wangwu", "zhangsan"]
        # The server's time in the tenant's zone, not the phone's (Los Angeles) clock.
        decided_utc = next(e for e in feed if e["type"] == "document.decision"
                           and e["data"]["login"] == "zhangsan" and e["data"]["doc_id"] == "PR-2026-0012")
        from datetime import datetime
        from zoneinfo import ZoneInfo
        local = datetime.fromisoformat(decided_utc["data"]["decided_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
        assert when == local.strftime("%Y-%m-%d %H:%M")
        await page.evaluate("window.scrollTo(0, 0)")
        await shot(page, "phone-doc-timeline")

        # A leave request's hint is about leave, not purchases.
        await page.goto(f"{wx.g.base_url}/wx/acme/doc/LV-2026-0031")
        await page.wait_for_selector("#comment-card:not([hidden])")
        hint = await page.get_attribute("#comment-form textarea", "placeholder")
        assert "休假" in hint and "采购" not in hint
        assert await page.is_hidden("#decide-card") and await page.inner_text("#doc-status") == "审批中"

        # 已处理: my decisions and comments with the documents' final states, newest first.
        await page.goto(f"{wx.g.base_url}/wx/acme/inbox")
        await page.click("#tab-history")
        await settle(page, "#list-history li", 4)
        rows = await texts(page, "#list-history .item")
        assert [r.split("\n")[0] for r in rows] == ["合同审批年度保洁服务合同", "采购申请会议室投影仪更换",
                                                    "费用报销11 月差旅费报销", "采购申请办公电脑采购（10 台）"]
        metas = [m.split(" · ")[0].replace("\n", "") for m in await texts(page, "#list-history .meta")]
        assert metas == ["抄送单据已撤回", "驳回单据已驳回", "同意单据已通过", "同意单据审批中"], metas
        assert await page.is_hidden("#panel-todo")
        await shot(page, "phone-history")
        # The tab survives a reload (#history), and a closed document opens read-only.
        await page.reload()
        await settle(page, "#list-history li", 4)
        await page.click("#list-history a[href='/wx/acme/doc/EX-2026-0108']")
        await page.wait_for_selector("#doc-card:not([hidden])")
        assert await page.inner_text("#doc-status") == "已通过"
        assert "仅供查看" in await page.inner_text("#closed-note")
        assert await page.is_hidden("#comment-card") and await page.is_hidden("#decide-card")


class _Stack:
    """What open_login needs of test_pages_browser's Stack."""

    def __init__(self, wx: WeChatEnv) -> None:
        self.wx = wx

    def url(self, path: str) -> str:
        return f"{self.wx.g.base_url}/wx/acme/{path}"


async def _xsrf(page: Any) -> str:
    cookies = await page.context.cookies()
    return next(c["value"] for c in cookies if c["name"] == "_xsrf")


async def test_lock_time_on_the_login_page_is_the_tenants(env):
    """The login page prints a lock's end in the tenant's zone (and 'today' is the tenant's), not
    in the phone's: the phone here runs on Los Angeles time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from test_pages_browser import login_message
    async with wechat_env(env, reachable=True, policy={"max_login_failures": 2, "lockout_minutes": 15}) as wx, \
            phone_page() as (page, _):
        await wx.put_account("zhangsan", PASSWORD, name="张三")
        await wx.use_openid("acme", OPENID)
        await open_login(page, _Stack(wx))
        assert await page.get_attribute("body", "data-time-zone") == "Asia/Shanghai"
        first = ""
        for attempt in range(2):
            await submit_login(page, "zhangsan", f"wrong-password-{attempt}")
            first = await login_message(page, first)
        await submit_login(page, "zhangsan", PASSWORD)
        text = await login_message(page, first)
        locked_until = (await wx.tenant_api("GET", "/accounts/zhangsan")).json["locked_until"]
        # The server words it: up to the next whole minute, with the date, in the tenant's zone.
        seconds = datetime.fromisoformat(locked_until).timestamp()
        until = datetime.fromtimestamp(-(-int(seconds) // 60) * 60, ZoneInfo("Asia/Shanghai"))
        when = f"{until.month}月{until.day}日 {until:%H:%M}（北京时间）"
        assert text == f"账号已锁定，请于 {when} 后再试。", text
