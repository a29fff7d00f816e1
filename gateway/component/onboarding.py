"""授权接入 from the console: a pre-auth code and the authorization page's links (a computer's,
where the administrator scans with WeChat, and a phone's, inside WeChat), then WeChat's redirect
back with the auth_code: the code exchanged, the account's info read, and the tenant created in
authorized mode or an existing tenant moved to it (accounts, bindings and documents kept)."""
from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import segno

from gateway.cache import Cache
from gateway.component.lifecycle import AuthorizerLifecycle
from gateway.component.tokens import ComponentTokens
from gateway.platform.clock import Clock
from gateway.platform.errors import Conflict, Invalid, NotFound
from gateway.platform.tenant import Tenant
from gateway.platform.tenant_registry import TenantRegistry
from gateway.platform.tenant_validation import RESERVED_SLUGS, SLUG_RE
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.component import auth_page_urls, create_preauthcode

START_SECONDS = 1800  # the console page's links stay usable this long (a pre-auth code lives 600 to 1800 s)
_STATE_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Started:
    pc_url: str
    mobile_url: str
    expires_in: int
    qr_svg: str


@dataclass
class Finished:
    tenant: Tenant
    api_key: str | None  # a new tenant's API key, shown once
    created: bool


def qr_svg(content: str) -> str:
    """An inline SVG QR code (CPU work: run it in an executor)."""
    return str(segno.make(content, error="m").svg_inline(scale=4, border=2))


class ComponentOnboarding:
    def __init__(self, tokens: ComponentTokens, lifecycle: AuthorizerLifecycle, http: WeChatHttp, cache: Cache,
                 clock: Clock, registry: TenantRegistry, public_url: str, login_page_base: str,
                 oauth_base: str) -> None:
        self.tokens, self.lifecycle, self.http, self.cache, self.clock = tokens, lifecycle, http, cache, clock
        self.registry, self.public_url = registry, public_url
        self.use_pages(login_page_base, oauth_base)

    def use_pages(self, login_page_base: str, oauth_base: str) -> None:
        """Where WeChat's authorization pages are (the demo points them at its simulator)."""
        self.pc_page = f"{login_page_base.rstrip('/')}/cgi-bin/componentloginpage"
        self.mobile_page = f"{oauth_base.rstrip('/')}/wxaopen/safe/bindcomponent"

    @staticmethod
    def _key(state: str) -> str:
        return f"component:onboard:{state}"

    async def start(self, slug: str, name: str, actor: str, tenant_scope: int | None, session: str) -> Started:
        """Links for connecting `slug`: an existing tenant moves to authorized mode, else a tenant
        named `name` is created. `tenant_scope`: a tenant administrator may connect only their own.
        `session`: the console session that started it, the only one that may finish it."""
        slug = slug.strip().lower()
        existing = self.registry.get(slug)
        if tenant_scope is not None and (existing is None or existing.id != tenant_scope):
            raise NotFound("no such tenant", {"slug": slug})
        if existing is None:
            if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
                raise Invalid("企业代码须为 2 到 32 位小写字母、数字或 -，且不能是保留字。", {"field": "slug"})
            if not name.strip() or len(name) > 100:
                raise Invalid("请填写企业名称（不超过 100 个字）。", {"field": "name"})
        code, expires_in = await self.tokens.call(
            lambda token: create_preauthcode(self.http, self.tokens.component_appid, token))
        state = secrets.token_hex(16)
        record = {"slug": slug, "name": name.strip(), "actor": actor, "scope": tenant_scope, "session": session}
        await self.cache.set(self._key(state), json.dumps(record, ensure_ascii=False), START_SECONDS)
        redirect = f"{self.public_url}/console/component/return?state={state}"
        urls = auth_page_urls(self.tokens.component_appid, code, redirect, self.pc_page, self.mobile_page)
        svg = await asyncio.get_running_loop().run_in_executor(None, qr_svg, urls["mobile"])
        return Started(urls["pc"], urls["mobile"], expires_in, svg)

    async def finish(self, state: Any, auth_code: Any, session_tenant: int | None, session: str) -> Finished:
        """WeChat's redirect back: `state` single use, in the console session that started it (and,
        for a tenant administrator, for their own tenant)."""
        if not isinstance(state, str) or not _STATE_RE.match(state):
            raise Invalid("授权请求无效或已过期，请重新发起授权接入。")
        if not isinstance(auth_code, str) or not auth_code or len(auth_code) > 512:
            raise Invalid("微信没有返回授权码：公众号管理员可能取消了授权。请重新发起授权接入。")
        raw = await self.cache.get(self._key(state))
        record = json.loads(raw) if raw is not None else {}
        if raw is None or not hmac.compare_digest(str(record.get("session", "")), session) or \
                not await self.cache.set_if_absent(f"{self._key(state)}:used", "1", START_SECONDS):
            raise Invalid("授权请求无效或已过期，请重新发起授权接入。")
        if record.get("scope") is not None and record["scope"] != session_tenant:
            raise NotFound("no such tenant")
        auth = await self.lifecycle.exchange_once(auth_code)
        info = await self.lifecycle.info(auth.authorizer_appid)
        slug = str(record["slug"])
        target = self.registry.get(slug)
        holder = self.lifecycle.tenant_of_appid(auth.authorizer_appid)
        if target is not None and not hmac.compare_digest(target.app_id, auth.authorizer_appid):
            raise Conflict(f"授权的公众号「{info.nick_name}」不是租户 {slug} 的公众号（AppID 不同）。"
                           "请用该租户的公众号管理员微信扫码。")
        if target is None and holder is not None:
            raise Conflict(f"公众号「{info.nick_name}」已接入租户 {holder.slug}。")
        actor = str(record.get("actor") or "console")
        if target is not None:
            tenant = await self.lifecycle.connect(target, auth, info, actor)
            return Finished(tenant, None, False)
        from_info = {"appid": auth.authorizer_appid, "status": "authorized"}
        tenant, api_key = await self.registry.create_authorized(slug, str(record.get("name") or info.nick_name),
                                                                auth.authorizer_appid, info.user_name or None,
                                                                from_info)
        tenant = await self.lifecycle.connect(tenant, auth, info, actor)
        return Finished(tenant, api_key, True)
