"""Base of the console's pages: the session cookie, the language (Chinese by default, English on
request), the tenant scope (a tenant administrator reaches their own tenant only: anything else
is 404), HTML error pages, and rendering with the navigation."""
from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

import tornado.web

from gateway.accounts.client_ip import client_ip
from gateway.console.sessions import ConsoleSession
from gateway.platform.tenant import Tenant
from handlers.base import BaseHandler, error_status
from handlers.console_i18n import translate
from handlers.pages import CSP, TEMPLATE_DIR

SESSION_COOKIE = "gw_console"
LANG_COOKIE = "gw_console_lang"

_ERRORS = {
    400: ("请求无效", "表单已过期或不完整，请返回上一页重新提交。"),
    403: ("无权访问", "表单已过期，请刷新页面后重试。"),
    404: ("页面不存在", "您要找的页面不存在，或您没有权限查看。请从导航重新进入。"),
    503: ("服务暂时不可用", "系统繁忙或后台服务暂时不可用，请稍后再试。"),
}


def escape_bytes(value: bytes) -> bytes:
    """The autoescape of the console's templates: what xhtml_escape does (html.escape's five
    characters), on the bytes the compiled template already holds, without decoding and encoding
    each value again (a page of 50 rows holds about a thousand values)."""
    return (value.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
            .replace(b'"', b"&quot;").replace(b"'", b"&#x27;"))


class ConsoleHandler(BaseHandler):
    route_name = "console"
    needs_session = True
    operator_only = False
    session: ConsoleSession | None = None

    def get_template_path(self) -> str:
        return str(TEMPLATE_DIR)

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")

    # ---- language --------------------------------------------------------------------------
    @functools.cached_property
    def lang(self) -> str:
        # Read once a request: a page asks for it with every text it translates.
        return "en" if self.get_cookie(LANG_COOKIE) == "en" else "zh"

    def t(self, text: str) -> str:
        return translate(text, self.lang)

    def pick(self, message: str) -> str:
        """One side of a "中文 / English" message of the core, in this page's language."""
        zh, _, en = message.partition(" / ")
        return en if self.lang == "en" and en else zh

    # ---- session and scope -----------------------------------------------------------------
    def cookie_options(self) -> dict[str, Any]:
        return {"path": "/console", "httponly": True, "samesite": "Lax",
                "secure": self.gw.public_url.startswith("https://")}

    async def prepare(self) -> None:  # type: ignore[override]
        super().prepare()
        self.session = await self.gw.console.sessions.get(self.get_cookie(SESSION_COOKIE))
        if not self.needs_session:
            return
        if self.session is None:
            if self.request.method == "GET":
                self.redirect("/console/login?next=" + quote(self.request.uri or "/console/", safe=""))
                return
            raise tornado.web.HTTPError(403)
        if self.operator_only and not self.session.is_operator:
            raise tornado.web.HTTPError(404)
        path = self.request.path
        if self.session.must_change_password and path != "/console/account/password" and path != "/console/logout":
            self.redirect("/console/account/password")
        elif (self.session.totp_pending and not self.session.must_change_password
              and path not in ("/console/account/totp", "/console/logout")):
            self.redirect("/console/account/totp")

    def tenant(self, slug: str) -> Tenant:
        """The tenant of a /console/t/{slug}/ page, if this session may see it; else 404."""
        tenant = self.gw.registry.get(slug)
        session = self.session
        if tenant is None or session is None or (not session.is_operator and tenant.id != session.tenant_id):
            raise tornado.web.HTTPError(404)
        return tenant

    @property
    def actor(self) -> str:
        return self.session.actor if self.session else "anonymous"

    def ip(self) -> str:
        server = self.gw.settings.server
        return client_ip(self.request.remote_ip or "", self.request.headers, server.trusted_proxies,
                         server.client_ip_header)

    def form(self, name: str, default: str = "") -> str:
        return self.get_body_argument(name, default) or ""

    def form_dict(self) -> dict[str, str]:
        return {k: self.get_body_argument(k) or "" for k in self.request.body_arguments if k != "_xsrf"}

    def checked(self, name: str) -> list[str]:
        return self.get_body_arguments(name)

    # ---- rendering ---------------------------------------------------------------------------
    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["xhtml_escape"] = escape_bytes  # the name Tornado's autoescape calls
        return namespace

    def render_console(self, template: str, tenant: Tenant | None = None, section: str = "", status: int = 200,
                       **values: Any) -> None:
        self.set_status(status)
        values.setdefault("message", None)
        values.setdefault("errors", {})
        self.render(f"console/{template}", t=self.t, lang=self.lang, session=self.session, tenant=tenant,
                    section=section, here=self.request.uri or "/console/", **values)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status_code = error_status(status_code, kwargs.get("exc_info", (None, None, None))[1])
        self.set_status(status_code)
        self.clear_header("Location")
        heading, text = _ERRORS.get(status_code, ("出错了", "系统出现问题，请稍后再试。"))
        self.render("console/error.html", t=self.t, lang=self.lang, heading=heading, text=text,
                    session=None, tenant=None, section="", here=self.request.uri or "/console/", message=None,
                    errors={})
