"""The third-party platform mode as one object for the composition root and the handlers: its
events, authorizer lifecycle, onboarding and release test, around the component token centre
(built before the account token centre, which asks it for authorizer tokens)."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from gateway.cache import Cache
from gateway.component.events import ComponentEvents, PlatformCrypto
from gateway.component.lifecycle import AuthorizerLifecycle, Forgetful
from gateway.component.onboarding import ComponentOnboarding
from gateway.component.release_test import ReleaseTest
from gateway.component.tokens import ComponentTokens
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock, iso
from gateway.platform.tenant import Tenant
from gateway.platform.tenant_registry import TenantRegistry
from gateway.wechat.api.client import WeChatHttp


class ComponentPlatform:
    def __init__(self, tokens: ComponentTokens, http: WeChatHttp, cache: Cache, clock: Clock,
                 registry: TenantRegistry, audit: AuditLog, account_tokens: Forgetful,
                 on_resumed: Callable[[int], Awaitable[None]], public_url: str, login_page_base: str,
                 oauth_base: str) -> None:
        self.settings, self.tokens, self.registry = tokens.settings, tokens, registry
        self.tickets, self.authorizers = tokens.tickets, tokens.authorizers
        self.lifecycle = AuthorizerLifecycle(tokens, http, cache, clock, self.authorizers, registry, audit,
                                             account_tokens, on_resumed)
        self.crypto = PlatformCrypto(self.settings, clock) if self.enabled else None
        self.events = ComponentEvents(self.settings, self.crypto, self.tickets, self.lifecycle) \
            if self.crypto is not None else None
        self.onboarding = ComponentOnboarding(tokens, self.lifecycle, http, cache, clock, registry, public_url,
                                              login_page_base, oauth_base)
        self.release_test = ReleaseTest(self.crypto, self.lifecycle, http, clock) if self.crypto is not None else None
        self._periodic: asyncio.Task[Any] | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def status(self, public_url: str) -> dict[str, Any]:
        """What an operator checks: is the platform on, are WeChat's tickets arriving, which URLs
        to enter on the Open Platform (never a secret)."""
        if not self.enabled:
            return {"enabled": False}
        received = await self.tickets.received_at()
        return {"enabled": True, "app_id": self.settings.app_id,
                "ticket_received_at": iso(received) if received is not None else None,
                "ticket_valid": await self.tickets.latest() is not None,
                "urls": {"events": f"{public_url}/wx/component/events",
                         "messages": f"{public_url}/wx/component/$APPID$/callback"}}

    def tenant_for(self, appid: str) -> Tenant | None:
        tenant = self.lifecycle.tenant_of_appid(appid)
        return tenant if tenant is not None and tenant.authorization is not None else None

    def start(self) -> None:
        if self.enabled:
            self._periodic = asyncio.ensure_future(self.tokens.run_periodic())

    async def stop(self) -> None:
        if self.release_test is not None:
            await self.release_test.drain()
        if self._periodic is not None:
            self._periodic.cancel()
            await asyncio.gather(self._periodic, return_exceptions=True)
