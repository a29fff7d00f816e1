"""Self-registration never tells an existing login from a new one: the same status, body and
headers, the same hashing work, the existing account (and its binding) untouched, the attempt in the
tenant's audit log; the page says what happens next and links back to the sign-in."""
from __future__ import annotations

from test_hardening_accounts import OPEN, PW, STRANGER_PW, count_kdf, oauth_phone, register
from wechat_env import wechat_env

_VARYING = {"date", "content-length", "set-cookie"}


async def test_an_existing_bound_account_is_untouched_and_unrevealed(env):
    async with wechat_env(env, policy=OPEN) as wx:
        await wx.put_account("zhang", PW, name="张三")
        owner = wx.phone()
        assert (await owner.sign_in("zhang", PW, "o_zhang")).status == 200
        stranger = await oauth_phone(wx, "o_stranger")
        kdf = count_kdf(wx)
        taken = await register(stranger, "ZHANG")
        new = await register(stranger, "fresh1")
        assert (taken.status, taken.body) == (new.status, new.body) == (201, b'{"status": "pending"}')
        names = [sorted(k.lower() for k, _ in r.headers.get_all() if k.lower() not in _VARYING) for r in (taken, new)]
        assert names[0] == names[1]
        assert kdf["hash"] == 2 and kdf["verify"] == 0  # one hash each, whichever login it was
        # The account, its password and its binding are as they were.
        view = (await wx.tenant_api("GET", "/accounts/zhang")).json
        assert (view["status"], view["name"], view["bound"]) == ("active", "张三", True)
        assert (await owner.get("/wx/acme/api/inbox")).status == 200
        other = wx.phone()
        assert (await other.sign_in("zhang", STRANGER_PW, "o_other")).status == 401
        # Only the tenant's log tells them apart (with who tried, never the password).
        audit = await wx.audit()
        ignored = [e for e in audit if e["action"] == "account.registration_ignored"]
        assert [(e["subject"], e["detail"]["reason"], e["detail"]["openid"]) for e in ignored] == [
            ("zhang", "login_exists", "o_stranger")]
        assert STRANGER_PW not in str(audit)


async def test_the_submitted_page_says_what_happens_next(env):
    async with wechat_env(env, policy=OPEN) as wx:
        phone = await oauth_phone(wx, "o_x", "register")
        r = await phone.get("/wx/acme/register?next=doc/PO-1")
        assert r.status == 200
        done = r.text.split('id="done-card"', 1)[1]
        assert "申请已提交" in done and "单位管理员" in done and "审核通过后" in done
        assert 'href="/wx/acme/login?next=doc%2FPO-1"' in done
