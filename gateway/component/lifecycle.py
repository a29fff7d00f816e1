"""An authorizer's life with the platform: the single-use authorization code exchanged once for all
processes (the `authorized` push and the console's redirect may both hold it), the account's info,
the tenant connected or created, revocation stopping its sends at once, and re-authorization
resuming them."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import asdict
from typing import Any, Awaitable, Callable, Protocol

from gateway.cache import Cache
from gateway.component.authorizers import AUTHORIZED, REVOKED, AuthorizerStore
from gateway.component.tokens import ComponentTokens
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.errors import Conflict
from gateway.platform.tenant import Tenant
from gateway.platform.tenant_registry import TenantRegistry
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.component import Authorization, AuthorizerInfo, authorizer_info, query_auth

log = logging.getLogger(__name__)

CODE_SECONDS = 3600.0  # an authorization code lives an hour (AuthorizationCodeExpiredTime = CreateTime + 3600)
EXCHANGE_WAIT = 10.0


class Forgetful(Protocol):
    async def forget(self, tenant: Tenant) -> None: ...


def authorization_summary(appid: str, func_info: list[int], info: AuthorizerInfo | None, now: float,
                          previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the tenant keeps of its authorization (public: no token, no secret)."""
    summary: dict[str, Any] = dict(previous or {})
    summary.update({"appid": appid, "status": AUTHORIZED, "func_info": sorted(set(func_info)), "authorized_at": now})
    summary.pop("revoked_at", None)
    if info is not None:
        summary.update({"nick_name": info.nick_name, "user_name": info.user_name, "service_type": info.service_type,
                        "verify_type": info.verify_type, "principal_name": info.principal_name})
    return summary


class AuthorizerLifecycle:
    def __init__(self, tokens: ComponentTokens, http: WeChatHttp, cache: Cache, clock: Clock,
                 authorizers: AuthorizerStore, registry: TenantRegistry, audit: AuditLog, account_tokens: Forgetful,
                 on_resumed: Callable[[int], Awaitable[None]]) -> None:
        self.tokens, self.http, self.cache, self.clock = tokens, http, cache, clock
        self.authorizers, self.registry, self.audit = authorizers, registry, audit
        self.account_tokens, self.on_resumed = account_tokens, on_resumed

    def tenant_of_appid(self, appid: str) -> Tenant | None:
        return next((t for t in self.registry.all() if t.app_id == appid), None)

    # ---- the authorization code -----------------------------------------------------------------------
    async def exchange_once(self, code: str) -> Authorization:
        """api_query_auth for `code`, once for every caller and process; the result (with the
        authorizer's first access token) is kept an hour for the others, the refresh token sealed in storage."""
        digest = hashlib.sha256(code.encode()).hexdigest()
        result_key, lock_key = f"component:code:{digest}", f"component:code-lock:{digest}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXCHANGE_WAIT
        while True:
            raw = await self.cache.get(result_key)
            if raw is not None:
                return Authorization(**json.loads(raw))
            if await self.cache.set_if_absent(lock_key, "1", EXCHANGE_WAIT * 2):
                break
            if loop.time() > deadline:
                raise Conflict("the authorization is still being processed; try again")
            await asyncio.sleep(0.1)
        try:
            auth = await self.tokens.call(lambda token: query_auth(self.http, self.tokens.component_appid, token, code))
            await self.authorizers.authorized(auth.authorizer_appid, auth.refresh_token, auth.func_info)
            kept = Authorization(auth.authorizer_appid, auth.access_token, auth.expires_in, None, auth.func_info)
            await self.cache.set(result_key, json.dumps(asdict(kept)), CODE_SECONDS)
            return kept
        finally:
            await self.cache.delete(lock_key)

    async def info(self, appid: str) -> AuthorizerInfo:
        return await self.tokens.call(
            lambda token: authorizer_info(self.http, self.tokens.component_appid, token, appid))

    # ---- events ---------------------------------------------------------------------------------------
    async def authorized(self, code: str) -> Tenant | None:
        """An `authorized` / `updateauthorized` push: the code exchanged now (it is single use), and a
        connected tenant brought up to date (a re-authorization resumes its sends)."""
        auth = await self.exchange_once(code)
        row = await self.authorizers.get(auth.authorizer_appid)
        tenant = self.registry.by_id(row.tenant_id) if row and row.tenant_id else None
        if tenant is None:
            log.info("authorization of %s received; waiting for the console to connect it", auth.authorizer_appid)
            return None
        return await self.connect(tenant, auth, None, "wechat")

    async def connect(self, tenant: Tenant, auth: Authorization, info: AuthorizerInfo | None, actor: str) -> Tenant:
        was_suspended = tenant.suspended or tenant.authorization is None
        if tenant.authorization is None:  # moving from direct mode: its tokens come from the platform now
            await self.account_tokens.forget(tenant)
        summary = authorization_summary(auth.authorizer_appid, auth.func_info or (info.func_info if info else []),
                                        info, self.clock.now(), tenant.authorization)
        tenant = await self.registry.set_authorization(tenant.slug, summary, info.user_name if info else None)
        await self.authorizers.connect(auth.authorizer_appid, tenant.id)
        await self.audit.record(tenant.id, actor, "component.authorized", auth.authorizer_appid,
                                {"func_info": summary["func_info"]})
        if was_suspended:
            await self.on_resumed(tenant.id)
        return tenant

    async def unauthorized(self, appid: str) -> Tenant | None:
        """The account withdrew the authorization: every send of its tenant stops at once."""
        await self.authorizers.revoked(appid)
        tenant = self.tenant_of_appid(appid)
        if tenant is None or tenant.authorization is None:
            return None
        summary = {**tenant.authorization, "status": REVOKED, "revoked_at": self.clock.now()}
        tenant = await self.registry.set_authorization(tenant.slug, summary)
        await self.account_tokens.forget(tenant)
        await self.audit.record(tenant.id, "wechat", "component.unauthorized", appid)
        log.warning("tenant %s withdrew the platform's authorization: sends stop", tenant.slug)
        return tenant
