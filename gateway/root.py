"""The gateway's services wired together for one process: storage, cache, tenant registry,
audit, metrics and the rest, started and stopped as one."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from tornado.httpclient import AsyncHTTPClient

from gateway.platform.audit import AuditLog
from gateway.cache import Cache, open_cache
from gateway.platform.clock import Clock
from gateway.platform.config import Settings
from gateway.platform.events import EventLog
from gateway.platform.metrics import Metrics
from gateway.platform.secretbox import SecretBox
from gateway.storage import Storage, open_storage
from gateway.storage.migrations import migrate
from gateway.services import install_services
from gateway.platform.tenant_state import TenantState
from gateway.wechat.api.client import WeChatHttp
from gateway.platform.tenant_registry import TenantRegistry

log = logging.getLogger(__name__)


class InFlight:
    """Requests being served, so a shutdown can wait for them before closing connections and pools."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count = max(0, self.count - 1)
        if self.count == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """True once no request is in flight; False if some still are after `timeout` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


class Gateway:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        self.storage: Storage = open_storage(settings.storage.url)
        self.cache: Cache = open_cache(settings.cache.url)
        self.box = SecretBox(settings.master_key_bytes)
        self.metrics = Metrics()
        self.audit = AuditLog(self.storage, self.clock)
        self.state = TenantState(self.storage, self.clock)
        self.events = EventLog(self.storage, self.clock)
        self.registry = TenantRegistry(self.storage, self.cache, self.box, self.clock,
                                       settings.security.allow_private_webhooks)
        # Its own client: Tornado's shared one allows only 10 requests at a time per process.
        self._wechat_client = AsyncHTTPClient(force_instance=True, max_clients=100)
        self.wechat_http = WeChatHttp(settings.wechat.api_base, settings.wechat.timeout,
                                      http_client=self._wechat_client, on_call=lambda endpoint, outcome: self.metrics.wechat_calls.labels(
                                          endpoint, outcome).inc())
        # Services attached by gateway.services.install_services (None until installed).
        self.tokens: Any = None
        self.callbacks: Any = None
        self.accounts: Any = None
        self.notifications: Any = None
        self.console: Any = None
        self._stop_hooks: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.extensions: dict[str, Any] = {}
        self.inflight = InFlight()
        self.draining = False  # set at shutdown: /readyz answers 503 so balancers stop sending traffic

    @property
    def public_url(self) -> str:
        return self.settings.server.public_url

    async def start(self) -> None:
        await self.storage.connect()
        await migrate(self.storage)
        await self.registry.start()
        await install_services(self)

    def run_in_background(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.append(task)
        return task

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._stop_hooks.append(hook)

    async def stop(self) -> None:
        for hook in reversed(self._stop_hooks):
            try:
                await hook()
            except Exception:
                log.exception("stop hook failed")
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self.registry.stop()
        await self.cache.close()
        await self.storage.close()
        self._wechat_client.close()

    async def readiness(self) -> dict[str, str]:
        """"ok" or "down" for storage and cache, each checked with a short deadline (and the server
        "stopping" once a shutdown began)."""
        async def check(probe: Callable[[], Awaitable[None]]) -> str:
            try:
                await asyncio.wait_for(probe(), timeout=2.0)
                return "ok"
            except Exception:
                return "down"
        storage, cache = await asyncio.gather(check(self.storage.ping), check(self.cache.ping))
        checks = {"storage": storage, "cache": cache}
        if self.draining:
            checks["server"] = "stopping"
        return checks
