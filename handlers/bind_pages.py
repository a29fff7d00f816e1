"""The WeChat side of scan-to-bind: the confirmation page a scan's reply links to (reached through
the entry point, so the WeChat user is known from OAuth), its confirm and cancel endpoints, and
the PNG of a waiting code that the business system's desktop shows."""
from __future__ import annotations

import tornado.web

from gateway.accounts.bind_qr import BindQrProblem
from gateway.platform.errors import Forbidden, Unauthorized
from handlers.base import SLUG
from handlers.mobile_auth import MobileApiHandler
from handlers.pages import PageHandler

TOKEN = r"(?P<token>[A-Za-z0-9_-]{32})"


class BindPage(PageHandler):
    template_name, page, script = "bind.html", "bind", "bind.js"

    async def get(self, slug: str, token: str) -> None:
        here = self.gw.bind_qr.page(token)
        tenant = await self.open_page(slug, here)
        assert tenant is not None
        session = await self.current_session(slug)
        openid = session.openid if session is not None else self.openid_from_cookie(tenant)
        if not openid:
            self.redirect(f"/wx/{slug}/entry?next={here}")
            return
        try:
            who = await self.gw.bind_qr.describe(tenant, token, openid)
        except BindQrProblem as refused:
            self.set_status(409 if refused.reason in ("used", "expired", "cancelled") else 403)
            self.render_page(tenant, here, template="message.html", heading="无法绑定", text=refused.message,
                             link=None, link_text="")
            return
        self.render_page(tenant, here, token=token, **who)


class BindActionHandler(MobileApiHandler):
    """POST …/api/bind/{token}/confirm or /cancel, by the WeChat user who scanned the code."""

    async def post(self, slug: str, token: str, action: str) -> None:
        tenant = self.gw.registry.require(slug)
        openid = await self.openid_of_request(slug)
        if not openid:
            raise Unauthorized("open the link from the WeChat message again",
                               {"entry": f"/wx/{slug}/entry?next=bind/{token}"})
        service = self.gw.bind_qr
        try:
            if action == "cancel":
                await service.cancel(tenant, token, openid)
                self.write_json({"status": "cancelled"})
                return
            done = await service.confirm(tenant, token, openid)
        except BindQrProblem as refused:
            raise Forbidden(refused.message, {"reason": refused.reason}) from None
        self.set_session_cookie(slug, done.session_token)
        self.clear_openid_cookie(slug)
        self.write_json({"status": "bound", "login": done.login, "name": done.name, "next": f"/wx/{slug}/inbox"})


class BindQrImageHandler(MobileApiHandler):
    async def get(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        png = await self.gw.bind_qr.image(tenant, self.get_query_argument("ticket", ""))
        if png is None:
            raise tornado.web.HTTPError(404, "no waiting bind QR code with this ticket")
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "no-store")
        self.finish(png)


ROUTES = [
    (rf"/wx/{SLUG}/bind/{TOKEN}", BindPage),
    (rf"/wx/{SLUG}/api/bind/{TOKEN}/(?P<action>confirm|cancel)", BindActionHandler),
    (rf"/wx/{SLUG}/bind-qr\.png", BindQrImageHandler),
]
