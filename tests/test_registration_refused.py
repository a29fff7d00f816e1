"""A refused self-registration is told to the applicant: the next time that WeChat user reaches
the login or registration page, "您的注册申请未通过" is shown once; nobody else sees it."""
from __future__ import annotations

from phone import PASSWORD
from test_console_people import act, admin_of
from wechat_env import WeChatEnv, wechat_env


async def page_after_oauth(wx: WeChatEnv, openid: str, next_page: str = "inbox") -> str:
    phone = wx.phone()
    await wx.use_openid("acme", openid)
    oauth = await phone.open_entry(next_page)
    assert oauth.status == 302 and "/login" in oauth.headers["Location"], oauth.headers
    page = await phone.get(oauth.headers["Location"])
    assert page.status == 200
    return page.text


async def register(wx: WeChatEnv, login: str, openid: str) -> None:
    phone = wx.phone()
    await wx.use_openid("acme", openid)
    await phone.open_entry("register")
    assert (await phone.api("register", {"login": login, "name": login.upper(), "password": PASSWORD})).status == 201


async def test_the_applicant_is_told_once(env) -> None:
    async with wechat_env(env, policy={"allow_mobile_registration": True}) as wx:
        await register(wx, "wu", "o_wu")
        await register(wx, "li", "o_li")
        assert "refused-notice" not in await page_after_oauth(wx, "o_wu")  # not before the decision
        admin = await admin_of(wx)
        assert "已拒绝" in await act(admin, "wu", "refuse", "/console/t/acme/people/pending")
        assert "已批准" in await act(admin, "li", "approve", "/console/t/acme/people/pending")
        assert "refused-notice" not in await page_after_oauth(wx, "o_li")  # approved: nothing to tell
        assert "refused-notice" not in await page_after_oauth(wx, "o_other")  # another WeChat user
        shown = await page_after_oauth(wx, "o_wu")
        assert 'id="refused-notice"' in shown and "您的注册申请未通过" in shown and "wu" in shown
        assert "refused-notice" not in await page_after_oauth(wx, "o_wu")  # once
        # The registration page shows it too; the tenant API's refusal (depart) tells as well.
        await register(wx, "zhao", "o_zhao")
        assert (await wx.tenant_api("POST", "/accounts/zhao/depart")).status == 200
        phone = wx.phone()
        await wx.use_openid("acme", "o_zhao")
        oauth = await phone.open_entry("register")
        page = await phone.get(oauth.headers["Location"].replace("/login", "/register"))
        assert "您的注册申请未通过" in page.text and "zhao" in page.text
        assert (await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM refused_registrations")) == 0


async def test_other_tenants_never_see_the_notice(env) -> None:
    async with wechat_env(env, slugs=("acme", "beta"), policy={"allow_mobile_registration": True}) as wx:
        await register(wx, "wu", "o_wu")
        admin = await admin_of(wx)
        await act(admin, "wu", "refuse", "/console/t/acme/people/pending")
        phone = wx.phone("beta")
        await wx.use_openid("beta", "o_wu")
        oauth = await phone.open_entry()
        page = await phone.get(oauth.headers["Location"])
        assert "refused-notice" not in page.text
        assert "refused-notice" in await page_after_oauth(wx, "o_wu")
