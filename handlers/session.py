"""Session cookies of the WeChat pages: SessionHandler reads `gw_session` (and the short-lived
signed openid cookie left by the OAuth step) for the JSON endpoints and the HTML pages."""
from __future__ import annotations

import json
from typing import Any

from gateway.platform.errors import Forbidden, Unauthorized, with_code
from gateway.accounts.login_limits import client_ip
from gateway.platform.links import entry_path
from gateway.accounts.sessions import Session
from handlers.base import JsonHandler
from gateway.platform.tenant import Tenant

SESSION_COOKIE = "gw_session"
OPENID_COOKIE = "gw_openid"
OPENID_SECONDS = 600
PasswordChangeRequired = with_code(Forbidden, "password_change_required")


class SessionHandler(JsonHandler):
    """Base of every handler that serves a signed-in WeChat user of one tenant."""

    def cookie_options(self, slug: str) -> dict[str, Any]:
        # Scoped to the tenant's pages, so two tenants' cookies never overwrite each other.
        return {"path": f"/wx/{slug}", "httponly": True, "samesite": "Lax",
                "secure": self.gw.public_url.startswith("https://")}

    async def current_session(self, slug: str) -> Session | None:
        """The session of this request's cookie, when its binding is still active; else None."""
        memo: dict[str, Session | None] = self.__dict__.setdefault("_gw_sessions", {})
        if slug in memo:
            return memo[slug]
        session = None
        tenant = self.gw.registry.get(slug)
        token = self.get_cookie(SESSION_COOKIE)
        if tenant is not None and token:
            session = await self.gw.sessions.current(tenant, token)
        memo[slug] = session
        return session

    async def require_session(self, slug: str, allow_password_change: bool = False) -> Session:
        """The session, or 401; 403 password_change_required while a first-login change is pending
        (only the password, me and logout endpoints pass allow_password_change=True)."""
        session = await self.current_session(slug)
        if session is None:
            raise Unauthorized("please open the page from the WeChat menu to sign in again",
                               {"entry": entry_path(slug)})
        if session.must_change_password and not allow_password_change:
            raise PasswordChangeRequired("choose a new password first", {"page": f"/wx/{slug}/password"})
        return session

    def set_session_cookie(self, slug: str, token: str) -> None:
        max_age = self.gw.sessions.max_age
        self.set_cookie(SESSION_COOKIE, token, max_age=max_age, **self.cookie_options(slug))
        self.__dict__.setdefault("_gw_sessions", {}).pop(slug, None)

    def clear_session_cookie(self, slug: str) -> None:
        self.clear_cookie(SESSION_COOKIE, **self.cookie_options(slug))
        self.__dict__.setdefault("_gw_sessions", {})[slug] = None

    def set_openid_cookie(self, tenant: Tenant, openid: str) -> None:
        value = json.dumps({"t": tenant.slug, "o": openid, "at": self.gw.clock.now()})
        self.set_signed_cookie(OPENID_COOKIE, value, expires_days=None, max_age=OPENID_SECONDS,
                               **self.cookie_options(tenant.slug))

    def openid_from_cookie(self, tenant: Tenant) -> str | None:
        """The openid the OAuth step proved for this tenant within the last ten minutes."""
        raw = self.get_signed_cookie(OPENID_COOKIE, max_age_days=OPENID_SECONDS / 86400)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if data["t"] != tenant.slug or self.gw.clock.now() - float(data["at"]) > OPENID_SECONDS:
                return None
            openid = data["o"]
        except (ValueError, KeyError, TypeError):
            return None
        return openid if isinstance(openid, str) and openid else None

    def clear_openid_cookie(self, slug: str) -> None:
        self.clear_cookie(OPENID_COOKIE, **self.cookie_options(slug))

    def client_ip(self) -> str:
        return client_ip(self.request.remote_ip or "", self.request.headers,
                         self.gw.settings.server.trusted_proxies)
