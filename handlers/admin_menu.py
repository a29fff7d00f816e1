"""Admin API for tenant menus: push one (PUT), read the last pushed (GET), push the default (POST)."""
from __future__ import annotations

from handlers.base import SLUG, OperatorHandler


class MenuHandler(OperatorHandler):
    async def get(self, slug: str) -> None:
        self.write_json(await self.gw.menus.last(await self.gw.registry.fresh(slug)))

    async def put(self, slug: str) -> None:
        tenant = await self.gw.registry.fresh(slug)
        self.write_json(await self.gw.menus.push(tenant, self.json_body()))


class DefaultMenuHandler(OperatorHandler):
    async def post(self, slug: str) -> None:
        self.write_json(await self.gw.menus.push_default(await self.gw.registry.fresh(slug)))


ROUTES = [
    (rf"/admin/api/tenants/{SLUG}/menu", MenuHandler),
    (rf"/admin/api/tenants/{SLUG}/menu/default", DefaultMenuHandler),
]
