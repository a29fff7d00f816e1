"""The console's two logs over HTTP: 移动端日志 (sign-ins, bindings, unbindings, decisions from
phones) and 系统日志 (administrative changes, imports), filtered by date, person and kind, paged
newest first, exported as CSV (BOM, formula guard), per tenant; and the tenant's logging
switches, which stop recording except the security events."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

from gateway.console.health import BEIJING
from gateway.console.logs import LogQuery
from phone import PASSWORD
from test_console_people import act, admin_of
from wechat_env import WeChatEnv, wechat_env


def actions(page: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)"', page)


def day(wx: WeChatEnv, offset: int = 0) -> str:
    return (datetime.fromtimestamp(wx.g.gw.clock.now(), BEIJING) + timedelta(days=offset)).strftime("%Y-%m-%d")


async def switch_logs(wx: WeChatEnv, **switches: bool) -> None:
    answer = await wx.g.admin("PATCH", "/admin/api/tenants/acme", {"logging": switches})
    assert answer.status == 200, answer.text


async def test_two_logs_filtered_paged_and_exported(env) -> None:
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        await wx.put_account("zhang", name="张三")
        await wx.put_account("=cmd", name="公式")
        phone = wx.phone()
        assert (await phone.sign_in("zhang", PASSWORD, openid="o_zhang")).status == 200
        wrong = wx.phone()
        assert (await wrong.sign_in("zhang", "not-the-password", openid="o_x")).status == 401
        admin = await admin_of(wx)
        await act(admin, "zhang", "unbind")
        mobile = await admin.get("/console/t/acme/logs/mobile")
        assert mobile.status == 200 and "移动端日志" in mobile.text
        found = actions(mobile.text)
        assert found[:1] == ["account.unbound"] and "login.ok" in found and "account.bound" in found
        assert "login.failed" in found and "account.created" not in found  # newest first, only phone records
        system = actions((await admin.get("/console/t/acme/logs/system")).text)
        assert "account.created" in system and "console.login.ok" in system and "login.ok" not in system
        # Filters: person, kind, dates.
        by_person = await admin.get("/console/t/acme/logs/mobile?person=zhang&kind=login.ok")
        assert actions(by_person.text) == ["login.ok"]
        assert actions((await admin.get("/console/t/acme/logs/system?person=alice")).text)  # the actor
        assert 'id="empty"' in (await admin.get("/console/t/acme/logs/mobile?person=nobody")).text
        today, tomorrow, yesterday = day(wx), day(wx, 1), day(wx, -1)
        assert actions((await admin.get(f"/console/t/acme/logs/mobile?since={today}&until={today}")).text) == found
        assert actions((await admin.get(f"/console/t/acme/logs/mobile?since={tomorrow}")).text) == []
        assert actions((await admin.get(f"/console/t/acme/logs/mobile?until={yesterday}")).text) == []
        assert actions((await admin.get("/console/t/acme/logs/mobile?since=garbage&kind=bogus")).text) == found
        # Pages of 50, newest first, on the id.
        for n in range(60):
            await wx.put_account(f"p{n:02d}", password=None)
        first = await admin.get("/console/t/acme/logs/system?kind=account.created")
        ids = [int(i) for i in re.findall(r'data-id="(\d+)"', first.text)]
        assert len(ids) == 50 and ids == sorted(ids, reverse=True)
        more = re.search(r'id="next-page" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
        second = await admin.get("/console/t/acme/logs/system" + more)
        rest = [int(i) for i in re.findall(r'data-id="(\d+)"', second.text)]
        assert len(rest) == 62 - 50 and max(rest) < min(ids) and 'id="next-page"' not in second.text
        # CSV: UTF-8 with BOM, every matching record, formulas guarded.
        export = await admin.get("/console/t/acme/logs/system.csv?kind=account.created")
        assert export.status == 200 and export.headers["Content-Type"].startswith("text/csv")
        assert export.body.startswith(b"\xef\xbb\xbf") and "attachment" in export.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(export.body.decode("utf-8-sig"))))
        assert rows[0][0].startswith("时间") and len(rows) == 1 + 62
        assert "'=cmd" in [r[3] for r in rows] and "=cmd" not in [r[3] for r in rows]
        assert PASSWORD not in export.body.decode("utf-8-sig")
        # Another tenant's logs: 404.
        for url in ("/console/t/beta/logs/mobile", "/console/t/beta/logs/system.csv"):
            assert (await admin.get(url)).status == 404
        assert (await admin.get("/console/t/acme/logs/other")).status == 404
        english = await admin.get("/console/lang?to=en&next=/console/t/acme/logs/mobile")
        assert english.status == 302
        assert "Mobile log" in (await admin.get("/console/t/acme/logs/mobile")).text


async def test_switches_off_keep_only_security_events(env) -> None:
    async with wechat_env(env, policy={"max_login_failures": 2}) as wx:
        await wx.put_account("zhang", name="张三")
        await wx.put_account("li", name="李四")
        await switch_logs(wx, mobile=False, system=False)
        before = {e["id"] for e in await wx.audit()}
        phone = wx.phone()
        assert (await phone.sign_in("zhang", PASSWORD, openid="o_zhang")).status == 200  # not recorded
        assert (await phone.api("logout")).status == 200                                # not recorded
        await wx.put_account("wang", name="王五")                                       # not recorded
        locker = wx.phone()
        await locker.sign_in("li", "wrong-1", openid="o_li")
        await locker.api("login", {"login": "li", "password": "wrong-2"})             # failures and the lock: kept
        assert (await wx.tenant_api("PUT", "/accounts/zhang", {"password": "Reset#Pass2026x"})).status == 200
        await switch_logs(wx, system=True)                                              # a setting change: kept
        new = [e["action"] for e in await wx.audit() if e["id"] not in before]
        assert "login.ok" not in new and "account.bound" not in new and "account.created" not in new
        assert "account.unbound" not in new  # the person's own logout is not a security event
        for kept in ("login.failed", "account.locked", "password.reset", "tenant.changed"):
            assert kept in new, kept
        admin = await admin_of(wx)
        page = await admin.get("/console/t/acme/logs/mobile")
        assert 'id="log-off"' in page.text and "login.failed" in actions(page.text)
        assert 'id="log-off"' not in (await admin.get("/console/t/acme/logs/system")).text
        await wx.put_account("zhao", name="赵六")  # the system log is on again
        assert "account.created" in [e["action"] for e in await wx.audit()][-3:]


async def test_token_turns_and_menu_pushes_are_in_the_system_log(env) -> None:
    async with wechat_env(env, app={"blocked_ip": "203.0.113.7"}) as wx:
        for _ in range(3):  # failing three times is one turn
            await wx.g.admin("GET", "/admin/api/tenants/acme/checklist")
        await wx.sim.add_app(wx.app_id, blocked_ip=None)
        await wx.g.admin("GET", "/admin/api/tenants/acme/checklist")
        await wx.g.admin("GET", "/admin/api/tenants/acme/checklist")
        assert (await wx.g.admin("POST", "/admin/api/tenants/acme/menu/default")).status == 200
        turns = [(e["action"], e["detail"]) for e in await wx.audit() if e["action"].startswith("token.")]
        assert [a for a, _ in turns] == ["token.failed", "token.recovered"]
        assert turns[0][1]["reason"] == "ip_not_whitelisted" and turns[0][1]["ip"] == "203.0.113.7"
        admin = await admin_of(wx)
        page = await admin.get("/console/t/acme/logs/system")
        assert {"token.failed", "token.recovered", "menu.pushed"} <= set(actions(page.text))
        assert "获取令牌失败" in page.text and "发布菜单" in page.text


async def test_date_range_across_days(env) -> None:
    async with wechat_env(env) as wx:
        await wx.put_account("old1", name="旧")
        first_day = day(wx)
        wx.advance(2 * 86400)
        await wx.put_account("new1", name="新")
        second_day = day(wx)
        logs, tenant = wx.g.gw.logs, wx.tenant

        async def subjects(since: str, until: str) -> list[str]:
            items, _ = await logs.page(tenant.id, LogQuery.of("system", since, until, "", "account.created", ""))
            return [e["subject"] for e in items]
        assert await subjects(first_day, first_day) == ["old1"]
        assert await subjects(second_day, second_day) == ["new1"]
        assert await subjects(first_day, second_day) == ["new1", "old1"]
        assert await subjects(day(wx, -1), day(wx, -1)) == []


async def test_log_kinds_in_english(env) -> None:
    async with wechat_env(env) as wx:
        await wx.put_account("zhang", name="张三")
        phone = wx.phone()
        assert (await phone.sign_in("zhang", PASSWORD, openid="o_zhang")).status == 200
        await phone.api("logout")
        admin = await admin_of(wx)
        await admin.get("/console/lang?to=en&next=/console/t/acme/logs/mobile")
        page = (await admin.get("/console/t/acme/logs/mobile")).text
        assert ">Unbound<" in page and ">Signed in<" in page and "WeChat bound" in page and "登录成功" not in page
        export = await admin.get("/console/t/acme/logs/mobile.csv")
        assert "Signed in" in export.body.decode("utf-8-sig")
