"""A tenant's webhook deliveries in the console: the recent ones (status, attempts, next try),
redeliver one, pause and resume the tenant's deliveries; each change audited with the actor."""
from __future__ import annotations

import tornado.web

from gateway.console.health import beijing_time
from gateway.documents.webhook_control import is_paused
from gateway.platform.events import event_id
from gateway.platform.tenant import Tenant
from handlers.base import SLUG
from handlers.console_tenant import TenantPage

STATES = {"pending": "等待发送或重试", "delivered": "已送达", "dead": "已放弃", "paused": "已暂停"}
MESSAGES = {"pause": "已暂停推送。新的事件会保存下来，恢复后依次补发。",
            "resume": "已恢复推送，暂停期间的事件正在补发。", "redeliver": "已安排立即重新推送这个事件。"}


class WebhooksPage(TenantPage):
    async def get(self, slug: str) -> None:
        await self.show(self.tenant(slug))

    async def show(self, tenant: Tenant, message: str | None = None) -> None:
        before = self.get_query_argument("before", "") or ""
        rows, next_before = await self.gw.webhook_control.page(
            tenant.id, int(before) if before.isdigit() and len(before) < 19 else 0)
        self.render_console("webhooks.html", tenant=tenant, section="webhooks", rows=rows, next_before=next_before,
                            paused=await is_paused(self.gw.storage, tenant.id), states=STATES, when=beijing_time,
                            event_id=event_id, now=self.gw.clock.now(), message=message)

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        action = self.form("action")
        control = self.gw.webhook_control
        if action == "pause":
            await control.pause(tenant, self.actor)
        elif action == "resume":
            await control.resume(tenant, self.actor)
        elif action == "redeliver":
            raw = self.form("event").removeprefix("evt_")
            if not raw.isdigit() or len(raw) > 18:
                raise tornado.web.HTTPError(400)
            await control.redeliver(tenant, int(raw), self.actor)
        else:
            raise tornado.web.HTTPError(400)
        await self.show(tenant, self.t(MESSAGES[action]))


ROUTES = [(rf"/console/t/{SLUG}/webhooks", WebhooksPage)]
