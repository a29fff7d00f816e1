"""The platform operator's admin API: tenants, API-key rotation, replies, verify files,
checklist and audit log."""
from __future__ import annotations

import logging
from typing import Any

from gateway.platform.pagination import parse_page, page_result
from gateway.platform.errors import Invalid
from gateway.storage import StorageError
from handlers.base import SLUG, OperatorHandler

log = logging.getLogger(__name__)


class AdminHandler(OperatorHandler):
    async def audit(self, slug: str, action: str, detail: dict[str, Any] | None = None) -> None:
        """Record an admin change that has already happened. Best effort: when the audit write fails
        the answer must still go out, since it may carry a once-only api_key or webhook_secret (a
        retried create would only get 409) and a 503 would wrongly say the change was not made."""
        try:
            if self.gw.registry.get(slug) is None:  # changed here, but not yet loaded by this process
                await self.gw.registry.reload(slug)
            tenant = self.gw.registry.get(slug)
            if tenant is not None:
                await self.gw.audit.record(tenant.id, "operator", action, slug, detail)
        except StorageError:
            log.warning("audit record %s for tenant %s not written: storage failed", action, slug)


class TenantsHandler(AdminHandler):
    async def get(self) -> None:
        page = parse_page(self.get_query_argument("after", None), self.get_query_argument("limit", None))
        await self.gw.registry.sync()
        tenants = self.gw.registry.all()
        if page.after is not None:
            after = self.gw.registry.get(page.after)
            if after is None:
                raise Invalid("after must be a slug from a previous page", {"field": "after"})
            tenants = [t for t in tenants if t.id > after.id]
        items = [t.public_view(self.gw.public_url) for t in tenants[: page.limit + 1]]
        self.write_json(page_result(items, page, key="slug"))

    async def post(self) -> None:
        tenant, api_key = await self.gw.registry.create(self.json_body())
        await self.audit(tenant.slug, "tenant.created")
        self.write_json({"tenant": tenant.public_view(self.gw.public_url), "api_key": api_key,
                         "webhook_secret": tenant.secrets.webhook_secret}, status=201)


class TenantHandler(AdminHandler):
    async def get(self, slug: str) -> None:
        self.write_json((await self.gw.registry.fresh(slug)).public_view(self.gw.public_url))

    async def patch(self, slug: str) -> None:
        patch = self.json_body()
        tenant = await self.gw.registry.patch(slug, patch)
        changed = sorted(patch) if isinstance(patch, dict) else []
        await self.audit(slug, "tenant.changed", {"fields": changed})
        self.write_json(tenant.public_view(self.gw.public_url))

    async def delete(self, slug: str) -> None:
        tenant = await self.gw.registry.fresh(slug)
        await self.gw.registry.delete(slug)
        self.gw.state.forget_local(tenant.id)
        self.set_status(204)
        self.finish()


class ApiKeyHandler(AdminHandler):
    async def post(self, slug: str) -> None:
        api_key = await self.gw.registry.rotate_api_key(slug)
        await self.audit(slug, "tenant.api_key_rotated")
        self.write_json({"api_key": api_key})


class RepliesHandler(AdminHandler):
    async def get(self, slug: str) -> None:
        self.write_json({"rules": (await self.gw.registry.fresh(slug)).replies})

    async def put(self, slug: str) -> None:
        rules = await self.gw.registry.set_replies(slug, self.json_body())
        await self.audit(slug, "tenant.replies_changed", {"rules": len(rules)})
        self.write_json({"rules": rules})


class VerifyFileHandler(AdminHandler):
    async def put(self, slug: str) -> None:
        result = await self.gw.registry.put_verify_file(slug, self.json_body())
        await self.audit(slug, "tenant.verify_file", {"name": result["name"]})
        self.write_json(result)


class ChecklistHandler(AdminHandler):
    async def get(self, slug: str) -> None:
        self.write_json(await self.gw.checklist.build(await self.gw.registry.fresh(slug)))


class AuditHandler(AdminHandler):
    async def get(self, slug: str) -> None:
        tenant = await self.gw.registry.fresh(slug)
        page = parse_page(self.get_query_argument("after", None), self.get_query_argument("limit", None))
        self.write_json(await self.gw.audit.page(tenant.id, page))


ROUTES = [
    (r"/admin/api/tenants", TenantsHandler),
    (rf"/admin/api/tenants/{SLUG}", TenantHandler),
    (rf"/admin/api/tenants/{SLUG}/api-key", ApiKeyHandler),
    (rf"/admin/api/tenants/{SLUG}/replies", RepliesHandler),
    (rf"/admin/api/tenants/{SLUG}/verify-file", VerifyFileHandler),
    (rf"/admin/api/tenants/{SLUG}/checklist", ChecklistHandler),
    (rf"/admin/api/tenants/{SLUG}/audit", AuditHandler),
]
