"""Keeps the JS-SDK endpoint, which needs no session, from being a way to hammer WeChat: a failed
ticket fetch is remembered per tenant for a minute, in the cache so every process sees it, and
callers get one plain message that names nothing of the server (no egress IP, no credentials)."""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from gateway.cache import Cache, CacheError
from gateway.platform.clock import Clock
from gateway.platform.errors import GatewayError, Unavailable
from gateway.platform.tenant import Tenant

log = logging.getLogger(__name__)

REMEMBER_SECONDS = 60.0
MESSAGE = "微信接口暂时不可用，请稍后再试。WeChat is unavailable right now; try again in a minute."


class JsSdkGuard:
    def __init__(self, cache: Cache, clock: Clock) -> None:
        self.cache, self.clock = cache, clock

    def _key(self, tenant: Tenant) -> str:
        return f"jssdk:down:{tenant.id}"

    async def _recent_failure(self, tenant: Tenant) -> float | None:
        try:
            value = await self.cache.get(self._key(tenant))
        except CacheError:
            return None
        if value is None:
            return None
        left = float(value) + REMEMBER_SECONDS - self.clock.now()
        return left if left > 0 else None

    async def config(self, tenant: Tenant, make: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """`make()` (which fetches the ticket when needed), unless it failed for this tenant within
        the last minute; its 503 is replaced by the generic one and remembered."""
        left = await self._recent_failure(tenant)
        if left is not None:
            raise Unavailable(MESSAGE, {"retry_after": max(1, int(left + 0.999))})
        try:
            return await make()
        except GatewayError as exc:
            if exc.status != 503:
                raise
            log.warning("jssdk: ticket for tenant %s unavailable (%s); refusing for %d s", tenant.slug,
                        exc.message, REMEMBER_SECONDS)
            try:
                await self.cache.set(self._key(tenant), repr(self.clock.now()), REMEMBER_SECONDS * 2)
            except CacheError:
                pass
            raise Unavailable(MESSAGE, {"retry_after": int(REMEMBER_SECONDS)}) from None
