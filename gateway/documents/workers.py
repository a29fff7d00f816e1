"""The delivery workers of one process: outbox pipelines that send template messages and webhook
pipelines that deliver events, each claiming due rows and handling them concurrently."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Generic, TypeVar

from gateway.cache import CacheError
from gateway.documents.outbox import Outbox
from gateway.documents.recipients import TenantsById
from gateway.documents.template_sender import TemplateSender
from gateway.documents.webhooks import WebhookSender
from gateway.platform.clock import Clock
from gateway.platform.metrics import Metrics
from gateway.platform.outages import OutageLog
from gateway.storage import StorageError

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL = 1.0             # the longest a worker sleeps without looking at the table
MIN_NAP = 0.05         # due rows another worker holds locked: look again shortly, do not spin
STOP_GRACE = 10.0      # in-flight sends may finish this long after stop; their leases cover the rest


class Pipeline(Generic[T]):
    """One worker: claims due rows while it has room, handles each in its own task, and sleeps
    until the next row is due (at most POLL) or until woken by a write in this process."""

    def __init__(self, name: str, claim: Callable[[int], Awaitable[list[T]]],
                 handle: Callable[[T], Awaitable[None]], next_due: Callable[[], Awaitable[float | None]],
                 now: Callable[[], float], batch: int, max_inflight: int) -> None:
        self.name, self.claim, self.handle, self.next_due, self.now = name, claim, handle, next_due, now
        self.batch, self.max_inflight = batch, max_inflight
        self.inflight: set[asyncio.Task[None]] = set()
        self.stopping = False
        self._wake = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None
        self.outage = OutageLog(log, f"{name} worker")

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                room = self.max_inflight - len(self.inflight)
                if room <= 0:
                    await asyncio.wait(set(self.inflight), return_when=asyncio.FIRST_COMPLETED)
                    continue
                items = await self.claim(min(room, self.batch))
                self.outage.answered()
                for item in items:
                    task = asyncio.ensure_future(self.handle(item))
                    self.inflight.add(task)
                    task.add_done_callback(self.inflight.discard)
                if not items:
                    await self._idle()
            except asyncio.CancelledError:
                raise
            except (StorageError, CacheError) as exc:
                self.outage.failed("cache" if isinstance(exc, CacheError) else "storage", exc)
                await self._nap(POLL)
            except Exception:
                log.exception("%s worker failed; trying again shortly", self.name)
                await self._nap(POLL)

    async def _idle(self) -> None:
        due = await self.next_due()
        await self._nap(POLL if due is None else min(POLL, max(MIN_NAP, due - self.now())))

    async def _nap(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()

    async def stop(self) -> None:
        self.stopping = True
        self.wake()
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), STOP_GRACE)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                self.task.cancel()
        if self.inflight:
            _, late = await asyncio.wait(set(self.inflight), timeout=STOP_GRACE)
            for task in late:
                task.cancel()


class Delivery:
    """Template sends from the outbox and webhook deliveries, `workers` pipelines of each."""

    def __init__(self, outbox: Outbox, sender: TemplateSender, webhooks: WebhookSender, clock: Clock,
                 tenants: TenantsById, metrics: Metrics, workers: int) -> None:
        self.outbox, self.sender, self.webhooks = outbox, sender, webhooks
        self.tenants, self.metrics = tenants, metrics
        self._senders = [Pipeline(f"outbox-{i}", outbox.claim, sender.process, outbox.next_due,
                                  clock.now, batch=50, max_inflight=100) for i in range(workers)]
        self._hooks = [Pipeline(f"webhooks-{i}", webhooks.claim, webhooks.deliver,
                                webhooks.next_due, clock.now, batch=20, max_inflight=50)
                       for i in range(workers)]

    def start(self) -> None:
        for pipeline in self._senders + self._hooks:
            pipeline.stopping = False  # a stopped Delivery may start again (tests hold the workers)
            pipeline.task = asyncio.ensure_future(pipeline.run())

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self._senders + self._hooks))

    def wake(self) -> None:
        for pipeline in self._senders:
            pipeline.wake()

    def wake_webhooks(self) -> None:
        for pipeline in self._hooks:
            pipeline.wake()

    async def refresh_depth(self) -> None:
        depth = await self.outbox.depth()
        for tenant in self.tenants.all():
            self.metrics.outbox_depth.labels(tenant.slug).set(depth.get(tenant.id, 0))
