"""授权接入 in the console: the operator (or a tenant's administrator, for their own tenant) starts
an authorization, the page shows WeChat's authorization link and its QR code, and WeChat's redirect
back (auth_code) creates the tenant in authorized mode or moves an existing tenant to it."""
from __future__ import annotations

from typing import Any

import tornado.web

from gateway.platform.errors import GatewayError
from gateway.platform.tenant import Tenant
from gateway.wechat.api.errors import WeChatError
from handlers.console_base import ConsoleHandler

_WECHAT_PROBLEM = {
    61005: "还没有收到微信推送的 component_verify_ticket（每 10 分钟一次）：请确认开放平台的“授权事件接收URL”填写为 {events}，稍后再试。",
    61006: "微信不认可平台的 component_verify_ticket：请等下一次推送（10 分钟内）后再试。",
    61004: "微信拒绝了本平台的出口 IP：请在开放平台的“白名单IP地址列表”中加入本系统的出口 IP。",
    40125: "开放平台的 AppSecret 不正确：请核对设置文件中 [component] app_secret。",
    61011: "开放平台的 AppID 不正确：请核对设置文件中 [component] app_id。",
}


def wechat_problem(page: ConsoleHandler, exc: WeChatError) -> str:
    """What the operator can do about a refusal from WeChat, in plain words."""
    text = _WECHAT_PROBLEM.get(exc.errcode, "微信暂时无法完成请求（错误码 {code}），请稍后再试。")
    return page.t(text).format(events=f"{page.gw.public_url}/wx/component/events", code=exc.errcode)


class ComponentPage(ConsoleHandler):
    def _scope(self) -> int | None:
        assert self.session is not None
        return None if self.session.is_operator else self.session.tenant_id

    def _own_tenant(self) -> Tenant | None:
        scope = self._scope()
        return None if scope is None else self.gw.registry.by_id(scope)

    async def _page(self, status: int = 200, **values: Any) -> None:
        platform = self.gw.component
        received = await platform.tickets.received_at() if platform.enabled else None
        tenant = self._own_tenant()
        values.setdefault("values", {"slug": tenant.slug if tenant else "", "name": tenant.name if tenant else ""})
        self.render_console("component.html", tenant=tenant, section="component", status=status,
                            enabled=platform.enabled, ticket_received=received, started=values.pop("started", None),
                            public_url=self.gw.public_url, own=tenant, **values)

    async def get(self) -> None:
        await self._page()

    async def post(self) -> None:
        if not self.gw.component.enabled:
            raise tornado.web.HTTPError(404)
        own = self._own_tenant()
        slug = own.slug if own else self.form("slug").strip().lower()
        name = own.name if own else self.form("name")
        try:
            assert self.session is not None
            started = await self.gw.component.onboarding.start(slug, name, self.actor, self._scope(),
                                                               self.session.id_hash)
        except WeChatError as exc:
            await self._page(status=502, errors={"_form": wechat_problem(self, exc)}, values={"slug": slug, "name": name})
            return
        except GatewayError as exc:
            field = (exc.details or {}).get("field", "_form")
            if exc.status == 404:
                raise tornado.web.HTTPError(404)
            await self._page(status=400, errors={field: self.t(exc.message)}, values={"slug": slug, "name": name})
            return
        await self._page(started=started, values={"slug": slug, "name": name})


class ComponentReturn(ConsoleHandler):
    """WeChat sends the administrator back here after the authorization (auth_code, expires_in)."""

    def _request_summary(self) -> str:
        # The access log gets the path only: the query carries the authorization code.
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    async def get(self) -> None:
        if not self.gw.component.enabled:
            raise tornado.web.HTTPError(404)
        assert self.session is not None
        scope = None if self.session.is_operator else self.session.tenant_id
        try:
            done = await self.gw.component.onboarding.finish(self.get_query_argument("state", ""),
                                                             self.get_query_argument("auth_code", ""), scope,
                                                             self.session.id_hash)
        except (WeChatError, GatewayError) as exc:
            if isinstance(exc, GatewayError) and exc.status == 404:
                raise tornado.web.HTTPError(404)
            message = wechat_problem(self, exc) if isinstance(exc, WeChatError) else self.t(exc.message)
            tenant = None if scope is None else self.gw.registry.by_id(scope)
            self.render_console("component.html", tenant=tenant, section="component", status=400,
                                enabled=True, ticket_received=None, started=None, public_url=self.gw.public_url,
                                own=tenant, values={}, errors={"_form": message})
            return
        tenant = done.tenant
        if done.api_key is not None:
            self.render_console("secret_once.html", tenant=tenant, section="keys", heading=self.t("授权成功，租户已创建"),
                                secrets=[(self.t("API 密钥（业务系统调用接口用）"), done.api_key),
                                         (self.t("Webhook 签名密钥"), tenant.secrets.webhook_secret)],
                                next_url=f"/console/t/{tenant.slug}/")
            return
        self.redirect(f"/console/t/{tenant.slug}/?authorized=1")


ROUTES = [
    (r"/console/component", ComponentPage),
    (r"/console/component/return", ComponentReturn),
]
