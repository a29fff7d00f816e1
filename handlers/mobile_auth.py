"""WeChat-facing sign-in: the entry point and OAuth redirect (styled error pages on failure) and
the JSON endpoints of the login, password and register pages (session cookie + XSRF token)."""
from __future__ import annotations

from typing import Any

from gateway.platform.errors import Unauthorized
from gateway.accounts.oauth import STATE_SECONDS, OAuthProblem, new_browser_nonce, valid_token
from gateway.platform.links import clean_next, entry_path, login_path, page_path
from handlers.base import SLUG, error_status
from handlers.error_pages import render_error, split_bilingual
from handlers.session import SessionHandler

STATE_COOKIE = "gw_oauth"


class HtmlAuthHandler(SessionHandler):
    """Entry and OAuth answer a browser: redirects, or a styled page saying what to do next."""
    route_name = "mobile_auth"

    def restart_link(self, slug: str, next_page: str = "inbox") -> str:
        return entry_path(slug, clean_next(next_page))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status = error_status(status_code, kwargs.get("exc_info", (None, None, None))[1])
        slug = self.path_kwargs.get("slug", "")
        if not slug or self.gw.registry.get(slug) is None:
            render_error(self, status, "unknown_tenant" if status == 404 else None)
            return
        render_error(self, status, "bad_state" if status == 400 else None, link=self.restart_link(slug))

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
            text, text_en = split_bilingual(problem.message)
            render_error(self, problem.status, "bad_state" if problem.status == 400 else "sign_in_failed",
                         link=self.restart_link(slug), text=text + "请点下面的按钮重新进入。",
                         text_en=text_en + " Tap the button below to start again.")
            return
        if outcome.snapshot or not outcome.openid:
            render_error(self, 403, "snapshot")
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
        signed = await self.gw.sign_in.change_password(tenant, session, body.get("old_password"),
                                                       body.get("new_password"), self.client_ip())
        if signed is None:
            self.clear_session_cookie(slug)
        else:  # the first sign-in's forced change: signed in with the new password, still bound
            self.set_session_cookie(slug, signed.token)
        self.write_json({"ok": True, "signed_in": signed is not None})


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
        await self.gw.registration.register(tenant, await self.openid_of_request(slug), body, self.client_ip())
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
