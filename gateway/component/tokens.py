"""The component token centre, beside the account token centre and with its guarantees: the
component_access_token is fetched once for all processes (cache lease, or the storage vault's while
the cache is down), refreshed before expiry, and dropped on a token error only while it is still the
cached one. It also fetches each authorizer's access token with the stored refresh token, saving
the refresh token WeChat returns: the account token centre asks it (its one seam) for every tenant
in authorized mode, so caching, refresh and retries of those tokens are the account centre's own."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, TypeVar

from gateway.cache import Cache
from gateway.component.authorizers import AuthorizerStore
from gateway.component.tickets import TicketStore
from gateway.platform.clock import Clock
from gateway.platform.config import ComponentSettings
from gateway.platform.metrics import Metrics
from gateway.platform.tenant import Tenant
from gateway.tokens.centre import RETRY_ATTEMPTS, RETRY_BASE, backoff
from gateway.tokens.store import TokenRecord, TokenStore
from gateway.tokens.vault import TokenVault
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.component import authorizer_token, component_token
from gateway.wechat.api.errors import Retryable, TokenInvalid, WeChatError, error_for
from gateway.wechat.api.token import Token

log = logging.getLogger(__name__)
T = TypeVar("T")

REFRESH_WITHIN = 600.0  # the docs advise a new token at about 1 h 50 min of its 2 h
PERIODIC_EVERY = 60.0
COMPONENT_TOKEN_INVALID = 61006  # also said of a refused component token (besides 40001/40014/42001)


class ComponentTokens:
    def __init__(self, settings: ComponentSettings, http: WeChatHttp, cache: Cache, clock: Clock,
                 tickets: TicketStore, authorizers: AuthorizerStore, metrics: Metrics, vault: TokenVault) -> None:
        self.settings, self.http, self.clock, self.metrics = settings, http, clock, metrics
        self.tickets, self.authorizers = tickets, authorizers
        # As the account centre's: the lease outlives one fetch with all its retries.
        lease_ttl = max(10.0, RETRY_ATTEMPTS * http.timeout + 2 * RETRY_BASE * 2 ** RETRY_ATTEMPTS)
        self.store = TokenStore(cache, clock, lease_ttl, vault)
        self.key = f"wx:component-token:{settings.app_id}"
        self.component_appid = settings.app_id

    # ---- the component token ------------------------------------------------------------------------
    async def component_token(self, failed: str | None = None) -> str:
        return (await self.store.obtain(self.key, self._fetch, failed)).value

    async def _fetch(self) -> TokenRecord:
        ticket = await self.tickets.latest()
        if ticket is None:
            self._count("no_ticket")
            raise error_for(61005, "no component_verify_ticket pushed in the last 12 hours")
        attempt = 1
        while True:
            try:
                token = await component_token(self.http, self.settings.app_id, self.settings.app_secret, ticket)
            except WeChatError as exc:
                self._count(str(exc.errcode))
                if isinstance(exc, Retryable) and attempt < RETRY_ATTEMPTS:
                    await asyncio.sleep(backoff(attempt))
                    attempt += 1
                    continue
                raise
            self._count("ok")
            return TokenRecord(token.access_token, self.clock.now() + token.expires_in)

    def _count(self, result: str) -> None:
        self.metrics.token_fetches.labels(tenant="component", kind="component_access_token", result=result).inc()

    async def call(self, fn: Callable[[str], Awaitable[T]]) -> T:
        """fn(component_access_token), retried once with a new token when WeChat refuses the token."""
        token = await self.component_token()
        try:
            return await fn(token)
        except WeChatError as exc:
            if not isinstance(exc, TokenInvalid) and exc.errcode != COMPONENT_TOKEN_INVALID:
                raise
            if await self.store.drop_if(self.key, token):
                log.info("dropped the refused component_access_token")
            token = await self.component_token(failed=token)
            return await fn(token)

    async def refresh_due(self, within: float = REFRESH_WITHIN) -> bool:
        """A new component token ahead of expiry, by one process for all; True when this call fetched."""
        def due(record: TokenRecord | None) -> bool:
            return record is not None and record.left(self.clock.now()) < within
        try:
            return await self.store.refresh(self.key, self._fetch, due)
        except Exception as exc:  # the current token stays in service
            log.warning("early component token refresh failed: %s", type(exc).__name__)
            return False

    async def run_periodic(self) -> None:
        while True:
            await asyncio.sleep(PERIODIC_EVERY)
            await self.refresh_due()

    # ---- authorizer tokens (the account token centre's seam) -------------------------------------------
    async def authorizer_token(self, tenant: Tenant) -> Token:
        """A new authorizer_access_token for a tenant in authorized mode (61023 when it has none)."""
        appid = tenant.app_id
        refresh = await self.authorizers.refresh_token(appid)
        if refresh is None:
            raise error_for(61023, "the account has not authorized the platform, or withdrew it")
        auth = await self.call(lambda token: authorizer_token(self.http, self.settings.app_id, token, appid, refresh))
        if auth.refresh_token:
            await self.authorizers.rotate_refresh_token(appid, refresh, auth.refresh_token)
        return Token(auth.access_token, auth.expires_in)
