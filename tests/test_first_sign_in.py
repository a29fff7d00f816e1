"""The first sign-in in one step: with 首次登录必须修改密码 the new password is chosen right after
the old one is accepted and the person is then signed in and bound (no second login); every broken
password rule is named at once; the failure that locks says, in the tenant's time, until when."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from wechat_env import wechat_env
from phone import PASSWORD

POLICY = {"first_login_change_password": True, "password_min_length": 10,
          "password_classes": ["digit", "upper", "lower"], "max_login_failures": 3, "lockout_minutes": 15}


async def test_forced_change_signs_in_and_keeps_the_binding(env):
    async with wechat_env(env, policy=POLICY) as wx:
        await wx.put_account("zhangsan", name="张三")
        await wx.tenant_api("PUT", "/documents/PO-1", {"type": "采购申请", "title": "笔记本", "applicant": "李四",
                                                       "submitted_at": "2024-01-01T15:01:00+08:00",
                                                       "approvers": ["zhangsan"]})
        phone = wx.phone()
        r = await phone.sign_in("zhangsan", PASSWORD, "o_zhang")
        assert r.status == 200 and r.json == {"ok": True, "must_change_password": True}
        assert (await phone.get("/wx/acme/api/inbox")).status == 403  # only the password step is open
        # A refused new password names every rule it breaks, at once.
        r = await phone.api("password", {"old_password": PASSWORD, "new_password": "abc"})
        assert r.status == 400 and r.json["error"]["code"] == "weak_password"
        details = r.json["error"]["details"]
        assert details["rule"] == "too_short"
        assert details["rules"] == ["too_short", "missing_digit", "missing_upper"]
        assert [p.split(" / ")[0] for p in details["problems"]] == [
            "密码至少需要 10 个字符", "密码必须包含数字", "密码必须包含大写字母"]
        assert "密码至少需要 10 个字符；密码必须包含数字；密码必须包含大写字母" in r.json["error"]["message"]
        # The right one: signed in with it, this WeChat user still bound, the inbox open. No second login.
        before = phone.cookies["gw_session"]
        r = await phone.api("password", {"old_password": PASSWORD, "new_password": "Second2026pass"})
        assert r.status == 200 and r.json == {"ok": True, "signed_in": True}
        assert phone.cookies["gw_session"] != before
        inbox = await phone.get("/wx/acme/api/inbox")
        assert inbox.status == 200 and [d["id"] for d in inbox.json["documents"]] == ["PO-1"]
        assert (await phone.get("/wx/acme/inbox")).status == 200
        account = (await wx.tenant_api("GET", "/accounts/zhangsan")).json
        assert account["bound"] is True
        assert [b["openid"] for b in await wx.db_bindings() if b["active_openid"]] == ["o_zhang"]
        actions = [a["action"] for a in await wx.audit()]
        assert "password.changed" in actions
        # The old session (the one that had to change) is worth nothing now.
        stale = wx.phone(cookies={"gw_session": before})
        assert (await stale.get("/wx/acme/api/me")).status == 401
        # Next time OAuth alone signs the person in; the new password works, the old one not.
        again = wx.phone()
        r = await again.open_entry()
        assert r.status == 302 and r.headers["Location"] == "/wx/acme/inbox"
        # A later change the person chooses (not forced) ends the binding as the contract says.
        r = await phone.api("password", {"old_password": "Second2026pass", "new_password": "Third2026pass"})
        assert r.status == 200 and r.json == {"ok": True, "signed_in": False}
        assert (await wx.tenant_api("GET", "/accounts/zhangsan")).json["bound"] is False


async def test_the_locking_attempt_says_until_when(env):
    async with wechat_env(env, policy=POLICY) as wx:
        await wx.put_account("zhangsan", name="张三")
        phone = wx.phone()
        r = await phone.sign_in("zhangsan", "wrong-password-1", "o_zhang")
        assert r.status == 401 and "locked_until_text" not in r.json["error"]["details"]
        await phone.api("login", {"login": "zhangsan", "password": "wrong-password-2"})
        r = await phone.api("login", {"login": "zhangsan", "password": "wrong-password-3"})
        assert r.status == 401
        details = r.json["error"]["details"]
        assert details["remaining_attempts"] == 0
        until = datetime.fromisoformat(details["locked_until"]).astimezone(ZoneInfo("Asia/Shanghai"))
        minute = until.replace(second=0, microsecond=0)
        if until != minute:
            minute = datetime.fromtimestamp(minute.timestamp() + 60, ZoneInfo("Asia/Shanghai"))
        expected = f"{minute.month}月{minute.day}日 {minute:%H:%M}（北京时间）"
        assert details["locked_until_text"] == expected
        r = await phone.api("login", {"login": "zhangsan", "password": PASSWORD})
        assert r.status == 423 and r.json["error"]["details"]["locked_until_text"] == expected


def test_unlock_time_words() -> None:
    from gateway.accounts.login_limits import PERMANENT_LOCK, unlock_time_text
    at = datetime(2026, 12, 7, 13, 30, 20, tzinfo=ZoneInfo("UTC")).timestamp()
    assert unlock_time_text(at) == "12月7日 21:31（北京时间）"             # rounded up: still locked at 21:30
    assert unlock_time_text(at - 20) == "12月7日 21:30（北京时间）"        # a whole minute stays
    assert unlock_time_text(at, "Europe/Berlin") == "12月7日 14:31（Europe/Berlin）"
    assert unlock_time_text(PERMANENT_LOCK) == "管理员解锁之后"
    # From the whole second locked_until shows (ISO 8601 without fractions), so both always agree.
    assert unlock_time_text(at - 19.5) == "12月7日 21:30（北京时间）"
