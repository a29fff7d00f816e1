"""Sends claimed outbox rows as template messages and records each outcome by WECHAT.md §7.4:
retry with backoff, pause a tenant on 45009, fail for good on unreachable users, pace per tenant."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from gateway.cache import Cache, CacheError
from gateway.documents.busy import BusyBreaker
from gateway.documents.outbox import Claimed, Outbox
from gateway.documents.recipient_lookup import RecipientLookup
from gateway.documents.recipients import PeopleDirectory, TenantsById
from gateway.platform.clock import Clock
from gateway.platform.links import document_next, entry_url
from gateway.platform.metrics import Metrics
from gateway.platform.tenant_state import TenantState
from gateway.platform.outages import OutageLog
from gateway.storage import Storage, StorageError
from gateway.tokens.centre import TokenCentre
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.errors import PermanentError, QuotaExceeded, Retryable, UserUnreachable, WeChatError
from gateway.wechat.api.template import send_template
from gateway.wechat.template_data import render_template_data
from gateway.platform.tenant import Tenant

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16             # about 50 minutes of backoff, then the row is dead
RETRY_FIRST = 2.0             # the first retry comes within 2 s
RETRY_CAP = 300.0             # and retries are never more than 5 minutes apart
MINUTE_QUOTA_WAIT = 60.0      # 45011: WeChat says "retry next minute"
SUSPENDED_WAIT = 60.0         # authorization withdrawn: look again later (re-authorizing pulls rows forward)
QUOTA_PAUSE = 60.0            # 45009: look again a minute later, without counting an attempt
OUTAGE_WAIT = 2.0             # a row met by a storage or cache outage looks again 2-4 s later, uncounted
PACE_SLEEP_MAX = 0.25         # a slot this close is waited for in memory; later ones go back to the table
TEMPLATE_ERRORS = {40036: "invalid_template", 40037: "invalid_template", 47003: "invalid_data"}
FINISH_KEY = "tplfinish:{tenant}:{msgid}"


def client_msg_id(tenant: Tenant, doc_id: str, login: str, role: str) -> str:
    """Unique per (document, recipient, role) and the same on every retry, so WeChat's dedupe
    makes a resend after a crash between send and record a no-op."""
    digest = hashlib.sha256(f"{tenant.id}\0{doc_id}\0{login}\0{role}".encode()).hexdigest()[:32]
    return f"gw{digest}"


def retry_delay(attempts: int) -> float:
    """Exponential backoff with full jitter in its upper half: 1-2 s, 2-4 s, … capped at 5 minutes."""
    base = min(RETRY_CAP, RETRY_FIRST * 2 ** (attempts - 1))
    return base * random.uniform(0.5, 1.0)


def finish_delivery(status: str) -> str:
    """TEMPLATESENDJOBFINISH Status → delivery: success → delivered, 'failed: x' → failed:x."""
    text = status.strip()
    if text == "success":
        return "delivered"
    reason = text[len("failed:"):] if text.startswith("failed:") else text
    return f"failed:{reason.strip() or 'unknown'}"[:190]


class RateGate:
    """Per-tenant pacing in this process: send slots 1/rate apart, the first one at once."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next: dict[int, float] = {}

    def reserve(self, tenant_id: int, now: float) -> float:
        slot = max(now, self._next.get(tenant_id, 0.0))
        self._next[tenant_id] = slot + self.interval
        return slot


class SentRecorder:
    """Gathers the sends accepted within a few milliseconds into one transaction: a commit per
    message would cap the fan-out at the database's commit rate."""

    def __init__(self, outbox: Outbox, window: float = 0.02, most: int = 100) -> None:
        self.outbox, self.window, self.most = outbox, window, most
        self._pending: list[tuple[Claimed, str, asyncio.Future[bool]]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def record(self, item: Claimed, msgid: str) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((item, msgid, future))
        if len(self._pending) >= self.most:
            self._flush_soon()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush_soon)
        return await future

    def _flush_soon(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            asyncio.ensure_future(self._flush(batch))

    async def _flush(self, batch: list[tuple[Claimed, str, asyncio.Future[bool]]]) -> None:
        try:
            results = await self.outbox.mark_sent_many([(item, msgid) for item, msgid, _ in batch])
        except Exception as exc:
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (*_, future), ours in zip(batch, results):
            if not future.done():
                future.set_result(ours)


class TemplateSender:
    def __init__(self, outbox: Outbox, tokens: TokenCentre, http: WeChatHttp, people: PeopleDirectory,
                 tenants: TenantsById, storage: Storage, cache: Cache, clock: Clock, state: TenantState,
                 metrics: Metrics, rate_per_second: float, public_url: str) -> None:
        self.outbox, self.tokens, self.http, self.people, self.tenants = outbox, tokens, http, people, tenants
        self.storage, self.cache, self.clock, self.state, self.metrics = storage, cache, clock, state, metrics
        self.public_url = public_url
        self.gate = RateGate(rate_per_second)
        self.paused: dict[int, float] = {}
        self._template_errors: dict[int, str] = {}  # tenant id -> role whose template WeChat refused
        self.recorder = SentRecorder(outbox)
        self.recipients = RecipientLookup(people)
        self.outage = OutageLog(log, "template sends")
        self.busy = BusyBreaker()
        self.wechat_outage = OutageLog(log, "template sends")
        # One attempt must end well inside the lease, or another worker would send it too.
        self.attempt_timeout = outbox.lease_seconds * 0.8

    def tenant(self, tenant_id: int) -> Tenant | None:
        return self.tenants.by_id(tenant_id)

    async def process(self, item: Claimed) -> None:
        try:
            await self._process(item)
            self.outage.answered()
        except asyncio.CancelledError:
            raise
        except (CacheError, StorageError) as exc:
            # A back end down is not an attempt: the row waits (uncounted) and goes out once it answers.
            self.outage.failed("cache" if isinstance(exc, CacheError) else "storage", exc)
            try:
                await self.outbox.defer(item, self.clock.now() + OUTAGE_WAIT * random.uniform(1.0, 2.0), paced=False)
            except (CacheError, StorageError):
                pass  # storage is down too: the lease runs out and the row is claimed again
        except Exception as exc:  # a bug: count it, so a poison row ends
            log.exception("outbox row %s failed unexpectedly", item.id)
            try:
                await self._failed(item, f"{type(exc).__name__}", None)
            except Exception:  # the database is down too: the lease runs out and the row is claimed again
                log.warning("could not record the failure of outbox row %s", item.id)

    async def _process(self, item: Claimed) -> None:
        now = self.clock.now()
        tenant = self.tenant(item.tenant_id)
        if tenant is None:
            await self.outbox.mark_final(item, None, "tenant deleted", state="dead")
            return
        if not item.active:
            await self.outbox.mark_final(item, "failed:removed", "recipient removed")
            return
        if item.doc_status != "open":
            await self.outbox.mark_final(item, "failed:document_closed", "document closed before sending")
            return
        if tenant.suspended:  # the account withdrew the platform's authorization: hold, until it authorizes again
            await self.outbox.defer(item, now + SUSPENDED_WAIT * random.uniform(1.0, 1.5), paced=False)
            return
        paused = self.paused.get(tenant.id, 0.0)
        if paused > now:
            await self.outbox.defer(item, paused + random.uniform(0, 5), paced=False)
            return
        busy_until = self.busy.wait_until(tenant.id, now)
        if busy_until is not None:  # WeChat is busy for this tenant: wait for the probe, uncounted
            await self.outbox.defer(item, busy_until + random.uniform(0.1, 1.0), paced=False)
            return
        if not item.paced:
            slot = self.gate.reserve(tenant.id, now)
            if slot - now > PACE_SLEEP_MAX:
                await self.outbox.defer(item, slot, paced=True)
                return
            if slot > now:
                await asyncio.sleep(slot - now)
        template = tenant.templates.get(item.role)
        if not template or not template.get("template_id"):
            await self.outbox.mark_final(item, "failed:no_template", f"no {item.role} template configured")
            return
        who = await self.recipients.get(tenant, item.login)
        openid = who.openid if who is not None and who.status == "active" else None
        if not openid:  # departed or unbound since the PUT: nobody to send to
            await self.outbox.mark_final(item, "unbound", "no active binding at send time")
            return
        await self._send(tenant, item, template, openid)

    async def _send(self, tenant: Tenant, item: Claimed, template: dict, openid: str) -> None:
        data = render_template_data(dict(template.get("data") or {}), item.values)
        url = entry_url(self.public_url, tenant.slug, document_next(item.doc_id))
        msg_id = client_msg_id(tenant, item.doc_id, item.login, item.role)
        http = self.http
        try:
            msgid = await asyncio.wait_for(self.tokens.call(tenant, lambda token: send_template(
                http, token, openid, str(template["template_id"]), data, url, msg_id)), self.attempt_timeout)
        except QuotaExceeded:
            await self._pause(tenant, item)
            return
        except UserUnreachable as exc:
            self._count(tenant, str(exc.errcode))
            await self.outbox.mark_final(item, f"failed:{exc.reason}", f"{exc.errcode}: {exc.errmsg}"[:500])
            return
        except PermanentError as exc:
            self._count(tenant, str(exc.errcode))
            reason = TEMPLATE_ERRORS.get(exc.errcode)
            if reason is not None:
                self._template_errors[tenant.id] = item.role
                await self.state.set(tenant.id, "template_error",
                                        f"{exc.errcode} {exc.errmsg} (template {item.role})"[:300])
            await self.outbox.mark_final(item, f"failed:{reason or f'error_{exc.errcode}'}",
                                         f"{exc.errcode}: {exc.errmsg}"[:500])
            return
        except WeChatError as exc:  # -1, 45011, network, token still refused, IP or credentials
            self._count(tenant, str(exc.errcode))
            if isinstance(exc, Retryable) and exc.errcode != 45011 and self.busy.failed(tenant.id, self.clock.now()):
                self.wechat_outage.failed(f"WeChat for {tenant.slug}", exc)
            await self._failed(item, f"{exc.errcode}: {exc.errmsg}", exc.errcode)
            return
        except asyncio.TimeoutError:
            self._count(tenant, "timeout")
            await self._failed(item, "attempt timed out", None)
            return
        self._count(tenant, "ok")
        self.wechat_outage.answered()
        if self.busy.succeeded(tenant.id):
            # WeChat answers again: the backlog goes now (through the rate gate), not at its backoff.
            await self.outbox.pull_forward(tenant.id, self.clock.now())
        if await self.recorder.record(item, msgid):
            await self._apply_early_finish(tenant, msgid)
        await self.state.set(tenant.id, "template_sent", True)  # TenantState skips repeated writes
        if self._template_errors.get(tenant.id) == item.role:
            del self._template_errors[tenant.id]
            await self.state.set(tenant.id, "template_error", None)

    async def _pause(self, tenant: Tenant, item: Claimed) -> None:
        self._count(tenant, "45009")
        until = self.clock.now() + QUOTA_PAUSE
        self.paused[tenant.id] = until
        log.warning("daily template quota of %s reached: sends paused for a minute", tenant.slug)
        await self.outbox.defer(item, until + random.uniform(0, 5), paced=False)
        await self.outbox.pause_tenant(tenant.id, until)

    async def _failed(self, item: Claimed, error: str, errcode: int | None) -> None:
        if item.attempts >= MAX_ATTEMPTS:
            log.warning("outbox row %s gave up after %s attempts", item.id, item.attempts)
            await self.outbox.mark_final(item, "failed:gave_up", error, state="dead")
            return
        delay = retry_delay(item.attempts)
        if errcode == 45011:
            delay = max(delay, MINUTE_QUOTA_WAIT * random.uniform(1.0, 1.1))
        await self.outbox.retry(item, self.clock.now() + delay, error)

    async def _apply_early_finish(self, tenant: Tenant, msgid: str) -> None:
        """TEMPLATESENDJOBFINISH may arrive before the msgid was recorded; it waits in the cache."""
        key = FINISH_KEY.format(tenant=tenant.id, msgid=msgid)
        try:
            status = await self.cache.get(key)
        except Exception:
            return
        if status is not None:
            await self.finished(tenant, msgid, status, remember=False)

    async def finished(self, tenant: Tenant, msgid: str, status: str, remember: bool = True) -> None:
        """TEMPLATESENDJOBFINISH: sent → delivered or failed:<reason>."""
        done = await self.storage.execute(
            "UPDATE document_recipients SET delivery = ?, updated_at = ? WHERE tenant_id = ? AND msgid = ?"
            " AND delivery = 'sent'", (finish_delivery(status), self.clock.now(), tenant.id, str(msgid)))
        if done.rowcount == 0 and remember:
            await self.cache.set(FINISH_KEY.format(tenant=tenant.id, msgid=msgid), status, 600)

    def _count(self, tenant: Tenant, result: str) -> None:
        self.metrics.template_sends.labels(tenant.slug, result).inc()
