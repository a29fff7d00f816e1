"""Console sign-in and sign-out, the first-password change, TOTP enrolment and the language switch."""
from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from gateway.console.accounts import OPERATOR_TENANT
from gateway.console.sessions import IDLE_SECONDS
from gateway.platform.errors import BadCredentials, GatewayError, Invalid, Locked, RateLimited
from handlers.console_base import LANG_COOKIE, SESSION_COOKIE, ConsoleHandler


def safe_next(value: str | None) -> str:
    """A console path to go to after sign-in; anything else (another site, //host) goes home."""
    if not value or not value.startswith("/console/") or value.startswith("//") or "\\" in value:
        return "/console/"
    parts = urlsplit(value)
    return "/console/" if parts.scheme or parts.netloc else value


class LoginPage(ConsoleHandler):
    needs_session = False

    async def get(self) -> None:
        if self.session is not None:
            self.redirect("/console/")
            return
        self.render_console("login.html", next_url=safe_next(self.get_query_argument("next", None)), values={})

    async def post(self) -> None:
        next_url = safe_next(self.form("next"))
        token = self.form("operator_token")
        if token:
            expected = self.gw.settings.security.operator_token
            if hmac.compare_digest(token.encode(), expected.encode()):
                await self._start(OPERATOR_TENANT, None, "operator", "operator", next_url)
                return
            self.render_console("login.html", status=401, next_url=next_url, values={},
                                errors={"token": self.t("运营方令牌不正确。")})
            return
        slug, login = self.form("slug").strip().lower(), self.form("login")
        values = {"slug": slug, "login": login}
        tenant = None
        if slug:
            tenant = self.gw.registry.get(slug)
            if tenant is None:
                # Answered like a wrong password, so the form does not tell which companies exist.
                self.render_console("login.html", status=401, next_url=next_url, values=values,
                                    errors={"login": self.t("企业代码、账号或密码不正确。")})
                return
        try:
            account = await self.gw.console.accounts.authenticate(tenant, login, self.form("password"),
                                                                  self.form("code"), self.ip())
        except Locked as exc:
            until = exc.details.get("locked_until", "")
            self.render_console("login.html", status=423, next_url=next_url, values=values,
                                errors={"login": self.t("密码错误次数过多，账号已锁定，请稍后再试或联系平台运营方解锁。")
                                        + f" ({until})"})
            return
        except BadCredentials as exc:
            remaining = exc.details.get("remaining_attempts", 0)
            text = self.t("企业代码、账号或密码不正确。")
            if exc.details.get("locked_until"):
                text = self.t("密码错误次数过多，账号已锁定，请稍后再试或联系平台运营方解锁。")
            elif remaining:
                text += self.t("还可以再试 {n} 次。").replace("{n}", str(remaining))
            self.render_console("login.html", status=401, next_url=next_url, values=values, errors={"login": text})
            return
        except RateLimited:
            self.render_console("login.html", status=429, next_url=next_url, values=values,
                                errors={"login": self.t("此网络的失败登录过多，请稍后再试。")})
            return
        except Invalid:
            self.render_console("login.html", status=400, next_url=next_url, values=values,
                                errors={"login": self.t("请填写账号和密码。")})
            return
        home = f"/console/t/{tenant.slug}/" if tenant else next_url
        await self._start(account.tenant_id, account.id, account.role, account.actor,
                          next_url if next_url != "/console/" else home)

    async def _start(self, tenant_id: int, account_id: int | None, role: str, actor: str, next_url: str) -> None:
        old = self.get_cookie(SESSION_COOKIE)
        if old:
            await self.gw.console.sessions.end(old)  # a new session at every sign-in
        token = await self.gw.console.sessions.start(tenant_id, account_id, role, actor)
        self.set_cookie(SESSION_COOKIE, token, **self.cookie_options())
        if account_id is None:
            await self.gw.audit.record(OPERATOR_TENANT, "operator", "console.login.ok", "operator token",
                                       {"ip": self.ip(), "idle_minutes": int(IDLE_SECONDS // 60)})
        self.redirect(next_url)


class LogoutHandler(ConsoleHandler):
    needs_session = False

    async def post(self) -> None:
        token = self.get_cookie(SESSION_COOKIE)
        if token:
            await self.gw.console.sessions.end(token)
        self.clear_cookie(SESSION_COOKIE, **self.cookie_options())
        self.redirect("/console/login")


class LanguageHandler(ConsoleHandler):
    needs_session = False

    def get(self) -> None:
        lang = "en" if self.get_query_argument("to", "zh") == "en" else "zh"
        self.set_cookie(LANG_COOKIE, lang, path="/console", samesite="Lax", max_age=365 * 86400,
                        secure=self.gw.public_url.startswith("https://"))
        self.redirect(safe_next(self.get_query_argument("next", None)))


class OwnAccountPage(ConsoleHandler):
    """A page about the signed-in console account itself (not the operator token's session)."""

    async def own_account(self) -> Any | None:
        """The account, or None once the visitor has been redirected (no account, or deleted)."""
        session = self.session
        if session is None or session.account_id is None:
            self.redirect("/console/")
            return None
        account = await self.gw.console.accounts.get(session.tenant_id, session.account_id)
        if account is None:
            self.redirect("/console/login")
        return account


class PasswordPage(OwnAccountPage):
    async def get(self) -> None:
        if self.session is None or self.session.account_id is None:
            self.redirect("/console/")
            return
        self.render_console("password.html", forced=self.session.must_change_password)

    async def post(self) -> None:
        account = await self.own_account()
        if account is None:
            return
        session = self.session
        assert session is not None
        try:
            await self.gw.console.accounts.change_password(account, self.form("current"), self.form("new"),
                                                           session.id_hash)
        except GatewayError as exc:
            field = exc.details.get("field", "new")
            text = self.t("当前密码不正确。") if field == "current" else self.pick(exc.message)
            if exc.details.get("rule") == "same_as_current":
                text = self.t("新密码不能与当前密码相同。")
            self.render_console("password.html", status=400, forced=session.must_change_password,
                                errors={field: text})
            return
        self.redirect("/console/?changed=1")


class TotpPage(OwnAccountPage):
    async def get(self) -> None:
        await self._show(self.gw.console.accounts.new_totp_secret())

    async def _show(self, secret: str, errors: dict[str, str] | None = None) -> None:
        account = await self.own_account()
        if account is None:
            return
        uri = self.gw.console.accounts.totp_uri(account, secret, "WeChat Gateway")
        self.render_console("totp.html", status=400 if errors else 200, secret=secret, uri=uri, errors=errors or {})

    async def post(self) -> None:
        secret = self.form("secret")
        if not secret.isalnum() or len(secret) > 64:
            self.redirect("/console/")
            return
        account = await self.own_account()
        if account is None:
            return
        try:
            await self.gw.console.accounts.enrol_totp(account, secret, self.form("code"))
        except Invalid:
            await self._show(secret, {"code": self.t("验证码不正确，请核对手机上的 6 位数字后重试。")})
            return
        self.redirect("/console/")


ROUTES = [
    (r"/console/login", LoginPage),
    (r"/console/logout", LogoutHandler),
    (r"/console/lang", LanguageHandler),
    (r"/console/account/password", PasswordPage),
    (r"/console/account/totp", TotpPage),
]
