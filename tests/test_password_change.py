"""POST /api/password: the current password counts against the sign-in limit (403 with the attempts
left, then 423 locked, the per-IP count too), the new one must differ from it, and no password
reaches the logs or the audit through the whole sign-in and change flow."""
from __future__ import annotations

import logging

import pytest

from phone import Phone
from wechat_env import WeChatEnv, wechat_env

PW = "Tr0ub4dor&3x!"
NEW = "N3w-Secret-value"


async def signed_in(wx: WeChatEnv, login: str = "zhang", openid: str = "o_1") -> Phone:
    phone = wx.phone()
    r = await phone.sign_in(login, PW, openid)
    assert r.status == 200, r.text
    return phone


async def test_forced_change_refuses_the_same_password(env):
    async with wechat_env(env, policy={"first_login_change_password": True}) as wx:
        await wx.put_account("zhang", PW)
        phone = await signed_in(wx)
        assert (await phone.me()).json["must_change_password"] is True
        r = await phone.api("password", {"old_password": PW, "new_password": PW})
        assert r.status == 400 and r.json["error"]["code"] == "weak_password"
        assert r.json["error"]["details"] == {"rule": "same_as_current"}
        message = r.json["error"]["message"]
        assert "相同" in message and "differ" in message and PW not in r.text
        assert (await phone.me()).json["must_change_password"] is True  # nothing changed
        r = await phone.api("password", {"old_password": PW, "new_password": NEW})
        assert r.status == 200, r.text


async def test_wrong_current_passwords_lock_the_account(env):
    async with wechat_env(env, policy={"max_login_failures": 3, "lockout_minutes": 15}) as wx:
        await wx.put_account("zhang", PW)
        phone = await signed_in(wx)
        checked = 0
        hasher = wx.g.gw.hasher
        real_verify = hasher.verify

        async def counting_verify(password: str, encoded: str, *rest: object) -> bool:
            nonlocal checked
            checked += 1
            return await real_verify(password, encoded, *rest)  # type: ignore[arg-type]

        hasher.verify = counting_verify  # type: ignore[method-assign]
        for remaining in (2, 1):
            r = await phone.api("password", {"old_password": "wrong-guess", "new_password": NEW})
            assert r.status == 403 and r.json["error"]["code"] == "forbidden"
            assert r.json["error"]["details"] == {"remaining_attempts": remaining}
        r = await phone.api("password", {"old_password": "wrong-guess", "new_password": NEW})
        assert r.status == 423 and r.json["error"]["code"] == "locked"
        locked_until = r.json["error"]["details"]["locked_until"]
        assert r.json["error"]["details"]["remaining_attempts"] == 0
        for _ in range(5):  # even the right one, unchecked, and the lock is not extended
            r = await phone.api("password", {"old_password": PW, "new_password": NEW})
            assert r.status == 423 and r.json["error"]["details"]["locked_until"] == locked_until
        assert checked == 3
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["locked_until"] == locked_until
        other = wx.phone()
        r = await other.sign_in("zhang", PW, "o_2")  # sign-in shares the lock
        assert r.status == 423
        refused = [e for e in await wx.audit() if e["action"] == "password.change_refused"]
        assert [e["detail"].get("remaining_attempts") for e in refused][:3] == [2, 1, 0]
        assert "account.locked" in [e["action"] for e in await wx.audit()]
        await wx.tenant_api("POST", "/accounts/zhang/unlock")
        r = await phone.api("password", {"old_password": PW, "new_password": NEW})
        assert r.status == 200, r.text


async def test_a_right_current_password_resets_the_count(env):
    async with wechat_env(env, policy={"max_login_failures": 3}) as wx:
        await wx.put_account("zhang", PW)
        phone = await signed_in(wx)
        for remaining in (2, 1):
            r = await phone.api("password", {"old_password": "wrong-guess", "new_password": NEW})
            assert r.json["error"]["details"]["remaining_attempts"] == remaining
        r = await phone.api("password", {"old_password": PW, "new_password": NEW})
        assert r.status == 200
        r = await wx.phone().sign_in("zhang", "still-wrong-pw", "o_3")
        assert r.status == 401 and r.json["error"]["details"]["remaining_attempts"] == 2


async def test_wrong_current_passwords_count_per_ip(env):
    async with wechat_env(env, security={"ip_login_failures": 2}, policy={"max_login_failures": 10}) as wx:
        await wx.put_account("zhang", PW)
        await wx.put_account("li", PW)
        phone = await signed_in(wx)
        for _ in range(2):
            r = await phone.api("password", {"old_password": "wrong-guess", "new_password": NEW})
            assert r.status == 403
        r = await phone.api("password", {"old_password": PW, "new_password": NEW})
        assert r.status == 429 and r.json["error"]["code"] == "rate_limited"
        r = await wx.phone().sign_in("li", PW, "o_li")
        assert r.status == 429


async def test_no_password_reaches_the_logs_or_the_audit(env, caplog: pytest.LogCaptureFixture):
    typed_as_login = "My-Pa55word-in-login"
    async with wechat_env(env, policy={"max_login_failures": 5}) as wx:
        with caplog.at_level(logging.DEBUG):
            await wx.put_account("zhang", PW)
            phone = wx.phone()
            r = await phone.sign_in(typed_as_login, "Wrong-Secret-1", "o_1")
            assert r.status == 401
            r = await phone.api("login", {"login": "zhang", "password": "Wrong-Secret-2"})
            assert r.status == 401
            r = await phone.api("login", {"login": "zhang", "password": PW})
            assert r.status == 200
            token = phone.cookies["gw_session"]
            r = await phone.api("password", {"old_password": "Wrong-Secret-3", "new_password": NEW})
            assert r.status == 403
            r = await phone.api("password", {"old_password": PW, "new_password": NEW})
            assert r.status == 200
            audit = str(await wx.audit())
        assert caplog.records, "the flow logged nothing: the check below would prove nothing"
        logged = caplog.text + "".join(str(record.args) for record in caplog.records)
        for secret in (PW, NEW, "Wrong-Secret-1", "Wrong-Secret-2", "Wrong-Secret-3", token):
            assert secret not in logged
            assert secret not in audit
        assert typed_as_login not in audit and typed_as_login.casefold() not in audit
