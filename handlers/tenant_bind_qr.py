"""Tenant API for scan-to-bind: POST /accounts/{login}/bind-qr makes a temporary QR code for the
person signed in on the business system's desktop; GET /bind-qr/{ticket} says how it went."""
from __future__ import annotations

from handlers.base import SLUG, TenantApiHandler

ACTOR = "tenant_api"


class BindQrCreateHandler(TenantApiHandler):
    async def post(self, slug: str, login: str) -> None:
        self.write_json(await self.gw.bind_qr.create(self.tenant, login, ACTOR), status=201)


class BindQrStatusHandler(TenantApiHandler):
    async def get(self, slug: str, ticket: str) -> None:
        self.write_json(await self.gw.bind_qr.status(self.tenant, ticket))


ROUTES = [
    (rf"/api/v1/{SLUG}/accounts/(?P<login>[^/]+)/bind-qr", BindQrCreateHandler),
    # WeChat's tickets are base64 (may hold "/" "+" "="): send them percent-encoded.
    (rf"/api/v1/{SLUG}/bind-qr/(?P<ticket>[^/]+)", BindQrStatusHandler),
]
