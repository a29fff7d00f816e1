"""JS-SDK `wx.config` signatures for the tenant's own pages (no session needed)."""
from __future__ import annotations

from gateway.tokens.centre import jssdk_config
from gateway.tokens.jssdk_guard import JsSdkGuard
from handlers.base import SLUG, JsonHandler


class JsSdkHandler(JsonHandler):
    route_name = "jssdk"

    async def get(self, slug: str) -> None:
        tenant = self.gw.registry.require(slug)
        url = self.get_query_argument("url", None)
        guard = JsSdkGuard(self.gw.cache, self.gw.clock)
        self.write_json(await guard.config(
            tenant, lambda: jssdk_config(self.gw.tokens, tenant, self.gw.public_url, url)))


ROUTES = [
    (rf"/wx/{SLUG}/api/jssdk", JsSdkHandler),
]
