"""The phone pages (login, password, register, inbox, doc): HTML shells rendered from templates/,
each working through the mobile JSON endpoints with static/app.js."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from gateway.platform.errors import NotFound
from gateway.platform.links import clean_next, entry_path, login_path, page_path
from gateway.platform.phone_settings import DEFAULT_PHONE, local_iso
from gateway.accounts.sessions import Session
from handlers.base import DOC, SLUG, error_status
from handlers.error_pages import render_error
from handlers.session import SessionHandler
from gateway.platform.tenant import Tenant

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def content_security_policy(frame_ancestors: list[str]) -> str:
    """CSP of the phone pages; `[server] frame_ancestors` (checked origins) may show them in a frame."""
    if not frame_ancestors:
        return CSP
    return CSP.replace("frame-ancestors 'none'", "frame-ancestors " + " ".join(frame_ancestors))


def next_after_login(value: str | None) -> str:
    """Where the login page sends a signed-in user: a page of the tenant, never another site."""
    page = clean_next(value)
    return "inbox" if page == "register" else page


class PageHandler(SessionHandler):
    """One HTML page of a tenant; pages that need a session send a visitor without one to the entry."""
    route_name = "pages"
    template_name = ""
    page = ""
    script = "account.js"  # the page's controller in static/, next to the shared app.js
    needs_session = False
    session: Session | None = None

    def get_template_path(self) -> str:
        # Absolute, so the pages render whatever the working directory is.
        return str(TEMPLATE_DIR)

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", content_security_policy(self.gw.settings.server.frame_ancestors))
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("Cache-Control", "no-store")

    async def open_page(self, slug: str, here: str) -> Tenant | None:
        """The tenant, or None once a visitor without a usable session has been redirected."""
        tenant = self.gw.registry.get(slug)
        if tenant is None:
            raise tornado.web.HTTPError(404)
        if not self.needs_session:
            return tenant
        self.session = await self.current_session(slug)
        if self.session is None:
            self.redirect(entry_path(slug, here))
            return None
        if self.session.must_change_password and self.page != "password":
            self.redirect(page_path(slug, "password"))
            return None
        return tenant

    refused_login: str | None = None

    def get_template_namespace(self) -> dict[str, Any]:
        # The tenant's zone and today's date in it: the pages print times in it, never in the phone's.
        namespace = super().get_template_namespace()
        tenant = self.gw.registry.get(self.path_kwargs.get("slug", ""))
        zone_name = tenant.time_zone if tenant is not None else DEFAULT_PHONE["time_zone"]
        namespace.update(time_zone=zone_name, today=(local_iso(self.gw.clock.now(), zone_name) or "")[:10])
        namespace["refused_login"] = self.refused_login  # for refusal_notice.html
        return namespace

    async def take_refusal(self, tenant: Tenant) -> None:
        """A refused self-registration of this WeChat user is told once, on the login or registration page."""
        self.refused_login = await self.gw.refusals.take(tenant, self.openid_from_cookie(tenant))

    def render_page(self, tenant: Tenant, here: str, template: str | None = None, **values: Any) -> None:
        self.xsrf_token  # sets the _xsrf cookie that app.js echoes as X-XSRFToken
        self.render(template or self.template_name, page=self.page, script=self.script, slug=tenant.slug,
                    tenant_name=tenant.name, base=f"/wx/{tenant.slug}/", here=here, **values)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        status = error_status(status_code, kwargs.get("exc_info", (None, None, None))[1])
        slug = self.path_kwargs.get("slug", "")
        if not slug or self.gw.registry.get(slug) is None:
            render_error(self, status, "unknown_tenant" if status == 404 else None)
            return
        link = page_path(slug, "inbox") if status == 404 else (
            self.request.uri if status >= 500 and self.request.method == "GET" else entry_path(slug))
        render_error(self, status, link=link)


class LoginPage(PageHandler):
    template_name, page = "login.html", "login"

    async def get(self, slug: str) -> None:
        tenant = await self.open_page(slug, "login")
        if tenant is not None:
            await self.take_refusal(tenant)
            self.render_page(tenant, "login", next_page=next_after_login(self.get_query_argument("next", None)),
                             allow_registration=bool(tenant.policy.get("allow_mobile_registration")))


class PasswordPage(PageHandler):
    template_name, page, needs_session = "password.html", "password", True

    async def get(self, slug: str) -> None:
        tenant = await self.open_page(slug, "password")
        if tenant is not None and self.session is not None:
            self.render_page(tenant, "password", forced=self.session.must_change_password)


class RegisterPage(PageHandler):
    template_name, page = "register.html", "register"

    async def get(self, slug: str) -> None:
        tenant = await self.open_page(slug, "register")
        if tenant is None:
            return
        await self.take_refusal(tenant)
        next_page = next_after_login(self.get_query_argument("next", None))
        if not tenant.policy.get("allow_mobile_registration"):
            self.render_page(tenant, "register", template="message.html", heading="暂未开放注册",
                             text="本单位暂未开放自助注册。如需开通账号，请联系单位管理员。",
                             link=login_path(slug, next_page), link_text="返回登录")
            return
        self.render_page(tenant, "register", next_page=next_page)


class InboxPage(PageHandler):
    template_name, page, script, needs_session = "inbox.html", "inbox", "inbox.js", True

    async def get(self, slug: str) -> None:
        tenant = await self.open_page(slug, "inbox")
        if tenant is not None:
            self.render_page(tenant, "inbox", retention_days=tenant.phone["retention_days"])


class DocPage(PageHandler):
    template_name, page, script, needs_session = "doc.html", "doc", "docs.js", True

    async def get(self, slug: str, doc_id: str) -> None:
        here = f"doc/{doc_id}"
        tenant = await self.open_page(slug, here)
        if tenant is None or self.session is None:
            return
        try:
            attachments = await self.gw.document_files.phone_view(tenant, doc_id, self.session.account_id)
        except NotFound:
            render_error(self, 404, "document", link=page_path(slug, "inbox"))
            return
        self.render_page(tenant, here, doc_id=doc_id, login=self.session.login, attachments=attachments)


ROUTES = [
    (rf"/wx/{SLUG}/login", LoginPage),
    (rf"/wx/{SLUG}/password", PasswordPage),
    (rf"/wx/{SLUG}/register", RegisterPage),
    (rf"/wx/{SLUG}/inbox", InboxPage),
    (rf"/wx/{SLUG}/doc/{DOC}", DocPage),
]
