"""Tenant API for documents (PUT, GET, close) and the pull feed of events, under /api/v1/{slug}."""
from __future__ import annotations

from gateway.platform.pagination import parse_page
from handlers.base import DOC, SLUG, TenantApiHandler


class DocumentHandler(TenantApiHandler):
    async def put(self, slug: str, doc_id: str) -> None:
        result, created = await self.gw.documents.put(self.tenant, doc_id, self.json_body())
        self.write_json(result, status=201 if created else 200)

    async def get(self, slug: str, doc_id: str) -> None:
        self.write_json(await self.gw.documents.get(self.tenant, doc_id))


class CloseHandler(TenantApiHandler):
    async def post(self, slug: str, doc_id: str) -> None:
        self.write_json(await self.gw.documents.close(self.tenant, doc_id, self.json_body()))


class ResendHandler(TenantApiHandler):
    async def post(self, slug: str, doc_id: str) -> None:
        self.write_json(await self.gw.documents.resend(self.tenant, doc_id, self.json_body()))


class EventsHandler(TenantApiHandler):
    async def get(self, slug: str) -> None:
        page = parse_page(self.get_query_argument("after", None), self.get_query_argument("limit", None))
        self.write_json(await self.gw.events.page(self.tenant, page))


ROUTES = [
    (rf"/api/v1/{SLUG}/documents/{DOC}", DocumentHandler),
    (rf"/api/v1/{SLUG}/documents/{DOC}/close", CloseHandler),
    (rf"/api/v1/{SLUG}/documents/{DOC}/resend", ResendHandler),
    (rf"/api/v1/{SLUG}/events", EventsHandler),
]
