"""WeChat-facing sign-in: the entry point and OAuth redirect (plain HTML pages on failure) and
the JSON endpoints of the login, password and register pages (session cookie + XSRF token)."""
from __future__ import annotations

import html
from typing import Any

import tornado.web

from gateway.cache import CacheError
from gateway.platform.errors import GatewayError, Unauthorized
from gateway.accounts.oauth import STATE_SECONDS, OAuthProblem, new_browser_nonce, valid_token
from gateway.platform.links import clean_next, entry_path, login_path, page_path
from gateway.storage import StorageError
from handlers.base import SLUG
from handlers.session import SessionHandler

STATE_COOKIE = "gw_oauth"


def html_page(title: str, message: str, link: str | None = None, link_text: str = "") -> str:
    """A minimal phone page; every value is escaped."""
    action = (f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link_text)}</a></p>'
              if link else "")
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(message)}</p>{action}</body></html>")


class HtmlAuthHandler(SessionHandler):
    """Entry and OAuth answer a browser: redirects, or a plain page saying what to do."""
    route_name = "mobile_auth"

    def restart_link(self, slug: str, next_page: str = "inbox") -> str:
        return entry_path(slug, clean_next(next_page))

    def write_page(self, status: int, title: str, message: str, link: str | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html_page(title, message, link, "重新进入 / Start again" if link else ""))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        slug = self.path_kwargs.get("slug", "")
        if isinstance(exc, GatewayError):
            status, message = exc.status, exc.message
        elif isinstance(exc, (StorageError, CacheError)):
            status, message = 503, "服务暂时不可用，请稍后再试。The service is unavailable; try again shortly."
        elif isinstance(exc, tornado.web.HTTPError):
            status, message = exc.status_code, self._reason
        else:
            status, message = 500, "出错了。Something went wrong."
        link = self.restart_link(slug) if slug and self.gw.registry.get(slug) else None
        self.write_page(status, "无法登录 / Cannot sign in", message, link)

    def redirect_to(self, location: str) -> None:
        self.set_header("Cache-Control", "no-store")
        self.redirect(location)


class EntryHandler(HtmlAuthHandler):
    async def get(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        next_page = clean_next(self.get_query_argument("next", "inbox"))
        session = await self.current_session(slug)
        if session is not None:
            self.redirect_to(page_path(slug, "password" if session.must_change_password else next_page))
            return
        nonce = self.get_cookie(STATE_COOKIE)
        if not valid_token(nonce):
            nonce = new_browser_nonce()
        assert nonce is not None
        self.set_cookie(STATE_COOKIE, nonce, max_age=STATE_SECONDS, **self.cookie_options(slug))
        self.redirect_to(await self.gw.oauth.begin(tenant, next_page, nonce))


class OAuthHandler(HtmlAuthHandler):
    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"  # no code in logs

    async def get(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        try:
            outcome = await self.gw.oauth.finish(
                tenant, self.get_query_argument("state", None), self.get_query_argument("code", None),
                self.get_cookie(STATE_COOKIE))
        except OAuthProblem as problem:
            self.write_page(problem.status, "无法登录 / Cannot sign in", problem.message, self.restart_link(slug))
            return
        if outcome.snapshot or not outcome.openid:
            self.write_page(403, "请从公众号菜单进入 / Open from the menu",
                            "请关注公众号后，从公众号的菜单打开这个链接。"
                            "Please follow the account and open this link from its menu.")
            return
        signed = await self.gw.sign_in.with_openid(tenant, outcome.openid)
        if signed is not None:
            self.set_session_cookie(slug, signed.token)
            self.clear_openid_cookie(slug)
            self.redirect_to(page_path(slug, "password" if signed.must_change_password else outcome.next))
            return
        self.set_openid_cookie(tenant, outcome.openid)
        if outcome.next == "register" or outcome.next.startswith("bind/"):
            # Registration and a scanned bind code's confirmation need the openid, not a login.
            self.redirect_to(page_path(slug, outcome.next))
        else:
            self.redirect_to(login_path(slug, outcome.next))


class MobileApiHandler(SessionHandler):
    route_name = "mobile_api"

    async def openid_of_request(self, slug: str) -> str | None:
        session = await self.current_session(slug)
        return session.openid if session is not None else self.openid_from_cookie(self.gw.registry.require(slug))


class LoginApiHandler(MobileApiHandler):
    async def post(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        body = self.json_object()
        openid = await self.openid_of_request(slug)
        if not openid:
            raise Unauthorized("please open this page from the WeChat menu first",
                               {"entry": entry_path(slug)})
        signed = await self.gw.sign_in.login(tenant, body.get("login"), body.get("password"),
                                                      self.client_ip(), openid)
        self.set_session_cookie(slug, signed.token)
        self.clear_openid_cookie(slug)
        self.write_json({"ok": True, "must_change_password": signed.must_change_password})


class PasswordApiHandler(MobileApiHandler):
    async def post(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        session = await self.require_session(slug, allow_password_change=True)
        body = self.json_object()
        await self.gw.sign_in.change_password(tenant, session, body.get("old_password"), body.get("new_password"),
                                               self.client_ip())
        self.clear_session_cookie(slug)
        self.write_json({"ok": True})


class LogoutApiHandler(MobileApiHandler):
    async def post(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        session = await self.require_session(slug, allow_password_change=True)
        await self.gw.accounts.logout(tenant, session)
        self.clear_session_cookie(slug)
        self.write_json({"ok": True})


class RegisterApiHandler(MobileApiHandler):
    async def post(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        body = self.json_object()
        await self.gw.accounts.register(tenant, await self.openid_of_request(slug), body)
        self.write_json({"status": "pending"}, status=201)


class MeApiHandler(MobileApiHandler):
    async def get(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        session = await self.require_session(slug, allow_password_change=True)
        self.write_json(await self.gw.accounts.me(tenant, session))


class PolicyApiHandler(MobileApiHandler):
    async def get(self, slug: str) -> None:
        self.write_json(self.gw.accounts.policy_info(self.gw.registry.require(slug)))


ROUTES = [
    (rf"/wx/{SLUG}/entry", EntryHandler),
    (rf"/wx/{SLUG}/oauth", OAuthHandler),
    (rf"/wx/{SLUG}/api/login", LoginApiHandler),
    (rf"/wx/{SLUG}/api/password", PasswordApiHandler),
    (rf"/wx/{SLUG}/api/logout", LogoutApiHandler),
    (rf"/wx/{SLUG}/api/register", RegisterApiHandler),
    (rf"/wx/{SLUG}/api/me", MeApiHandler),
    (rf"/wx/{SLUG}/api/policy", PolicyApiHandler),
]
