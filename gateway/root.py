"""The composition root: builds the platform and every domain service once, in dependency order,
hands each its collaborators in its constructor, and starts and stops them as one. Only
server.py, handlers/ and the simulator's demo (and the tests and benchmarks) import it."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from tornado.httpclient import AsyncHTTPClient

from gateway.accounts.bind_qr import BindQrService
from gateway.accounts.bindings import BindingStore
from gateway.accounts.directory import AccountDirectory
from gateway.accounts.listing import AccountListing
from gateway.accounts.login_limits import LoginLimiter, login_digest_key
from gateway.accounts.oauth import OAuthFlow
from gateway.accounts.passwords import PasswordHasher, ScryptParams
from gateway.accounts.refusals import RefusalNotices
from gateway.accounts.registration import Registration
from gateway.accounts.service import AccountService
from gateway.accounts.sessions import SessionStore
from gateway.accounts.sheet_import import SheetImport
from gateway.accounts.sign_in import SignIn
from gateway.cache import Cache, open_cache
from gateway.callbacks.pipeline import CallbackService
from gateway.callbacks.rulebook import RuleBook
from gateway.component.authorizers import AuthorizerStore
from gateway.component.service import ComponentPlatform
from gateway.component.tickets import TicketStore
from gateway.component.tokens import ComponentTokens
from gateway.console.accounts import ConsoleAccounts
from gateway.console.logs import LogListing
from gateway.console.service import ConsoleService
from gateway.console.sessions import ConsoleSessions
from gateway.console.test_event import TestEventSender
from gateway.documents.attachment_fetch import AttachmentFetcher
from gateway.documents.attachments import DocumentFiles
from gateway.documents.comments import Comments
from gateway.documents.listing import DocumentListing
from gateway.documents.outbox import Outbox
from gateway.documents.recipient_view import RecipientView
from gateway.documents.service import DocumentService
from gateway.documents.waiting import WaitingNotices
from gateway.documents.template_sender import TemplateSender
from gateway.documents.webhook_control import WebhookControl
from gateway.documents.webhooks import WebhookSender
from gateway.documents.workers import Delivery
from gateway.onboarding.checklist import Checklist
from gateway.onboarding.menus import MenuService
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.config import Settings
from gateway.platform.events import EventLog
from gateway.platform.inflight import InFlight
from gateway.platform.metrics import Metrics
from gateway.platform.secretbox import SecretBox
from gateway.platform.tenant_registry import TenantRegistry
from gateway.platform.tenant_state import TenantState
from gateway.storage import Storage, open_storage
from gateway.storage.migrations import migrate
from gateway.tokens.centre import TokenCentre
from gateway.tokens.vault import TokenVault
from gateway.wechat.api.client import WeChatHttp

log = logging.getLogger(__name__)


class Gateway:
    """One process's gateway: the platform, then tokens, accounts, documents, callbacks, onboarding."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock()
        public_url = settings.server.public_url
        sec = settings.security

        # ---- the platform
        self.storage: Storage = open_storage(settings.storage.url, settings.storage.query_timeout)
        self.cache: Cache = open_cache(settings.cache.url)
        self.metrics = Metrics()
        self.state = TenantState(self.storage, self.clock)
        self.events = EventLog(self.storage, self.clock)
        self.box = SecretBox(settings.master_key_bytes)
        self.registry = TenantRegistry(self.storage, self.cache, self.box, self.clock, sec.allow_private_webhooks)
        self.audit = AuditLog(self.storage, self.clock, self.registry.logging_switches)
        # Its own client: Tornado's shared one allows only 10 requests at a time per process.
        self._wechat_client = AsyncHTTPClient(force_instance=True, max_clients=100)
        self.wechat_http = WeChatHttp(settings.wechat.api_base, settings.wechat.timeout,
                                      http_client=self._wechat_client, on_call=self._count_wechat_call)
        self.inflight = InFlight()
        self.draining = False  # set at shutdown: /readyz answers 503 so balancers stop sending traffic

        # ---- tokens (a tenant in authorized mode gets its access token from the component token centre)
        comp = settings.component
        self.component_tokens = ComponentTokens(
            comp, self.wechat_http, self.cache, self.clock, TicketStore(self.storage, self.clock, self.box, comp.app_id),
            AuthorizerStore(self.storage, self.clock, self.box), self.metrics,
            TokenVault(self.storage, self.clock, self.box))
        self.tokens = TokenCentre(settings.wechat, self.cache, self.clock, self.wechat_http, self.state,
                                  self.metrics, self.registry, TokenVault(self.storage, self.clock, self.box),
                                  authorized=self.component_tokens if comp.enabled else None, audit=self.audit)

        # ---- accounts
        self.directory = AccountDirectory(self.storage, self.clock)
        self.hasher = PasswordHasher(ScryptParams(n=sec.password_hash_n))
        self.limits = LoginLimiter(self.storage, self.cache, self.clock, sec.ip_login_failures,
                                   sec.ip_window_minutes * 60.0, login_digest_key(settings.master_key_bytes))
        self.bindings = BindingStore(self.storage, self.audit, self.events, self.state, self.clock)
        self.sessions = SessionStore(self.storage, self.clock, sec.session_key, sec.session_hours)
        self.accounts = AccountService(self.storage, self.clock, self.audit, self.events, self.directory,
                                       self.hasher, self.limits, self.bindings)
        self.sign_in = SignIn(self.storage, self.clock, self.audit, self.directory, self.limits, self.hasher,
                              self.bindings, self.sessions)
        self.registration = Registration(self.storage, self.cache, self.clock, self.audit, self.events,
                                         self.directory, self.hasher)
        self.account_list = AccountListing(self.storage, self.clock)
        self.refusals = RefusalNotices(self.storage, self.clock)
        self.sheet_import = SheetImport(self.storage, self.clock, self.audit, self.box, self.hasher, self.state)
        self.oauth = OAuthFlow(self.cache, self.clock, self.wechat_http, settings.wechat, public_url,
                               platform=self.component_tokens if comp.enabled else None)
        self.bind_qr = BindQrService(self.storage, self.clock, self.tokens, self.wechat_http, self.directory,
                                     self.bindings, self.sessions, self.audit, public_url)

        # ---- documents and their delivery
        # A claim's lease outlives a send with its token refresh and in-call retries.
        self.outbox = Outbox(self.storage, self.clock, max(15.0, 8 * settings.wechat.timeout))
        self.sender = TemplateSender(self.outbox, self.tokens, self.wechat_http, self.directory, self.registry,
                                     self.storage, self.cache, self.clock, self.state, self.metrics,
                                     settings.delivery.tenant_rate_per_second, public_url)
        self.webhooks = WebhookSender(self.storage, self.clock, self.registry, self.metrics,
                                      sec.allow_private_webhooks, settings.delivery.webhooks_per_tenant)
        workers = 1 if self.storage.dialect == "sqlite" else max(1, settings.delivery.workers)
        self.delivery = Delivery(self.outbox, self.sender, self.webhooks, self.clock, self.registry, self.metrics,
                                 workers)
        self.waiting = WaitingNotices(self.storage, self.clock, self.outbox, self.delivery)
        self.bindings.follow_binds(self.waiting)  # a new binding releases the notifications waiting for it
        self.documents = DocumentService(self.storage, self.clock, self.audit, self.events, self.outbox,
                                         self.directory, self.delivery, self.waiting, sec.allow_private_webhooks)
        self.document_list = DocumentListing(self.storage)
        self.recipient_view = RecipientView(self.storage, self.clock, self.directory)
        self.comments = Comments(self.storage, self.clock, self.audit, self.events, self.directory, self.delivery)
        self.document_files = DocumentFiles(self.storage, self.clock)
        self.attachment_fetcher = AttachmentFetcher(sec.allow_private_webhooks, settings.delivery.attachment_timeout)
        self.webhook_control = WebhookControl(self.storage, self.clock, self.audit, self.delivery.wake_webhooks)

        # ---- callbacks
        self.callbacks = CallbackService(self.storage, self.cache, self.clock, self.registry, self.state,
                                         self.metrics, public_url, inbox=self.documents,
                                         deliveries=self.sender.finished, rulebook=RuleBook(),
                                         bind_scans=self.bind_qr)

        # ---- onboarding
        self.menus = MenuService(self.tokens, self.wechat_http, self.state, self.audit, public_url)
        self.checklist = Checklist(self.state, self.registry, self.tokens.probe_credentials, public_url)

        # ---- the third-party platform: authorization events, onboarding, revocation and resumption
        self.component = ComponentPlatform(self.component_tokens, self.wechat_http, self.cache, self.clock,
                                           self.registry, self.audit, self.tokens, self._sends_resumed, public_url,
                                           comp.login_page_base, settings.wechat.oauth_base)

        # ---- the console (same services as the APIs; its own accounts share the hasher and limiter)
        self.test_events = TestEventSender(self.clock, sec.allow_private_webhooks)
        self.logs = LogListing(self.storage)
        self.console = ConsoleService(
            ConsoleAccounts(self.storage, self.clock, self.hasher, self.limits, self.audit, self.box),
            ConsoleSessions(self.storage, self.clock), self.test_events)

        self._background: list[asyncio.Task[None]] = []
        self._stop_hooks: list[Callable[[], Awaitable[None]]] = []

    @property
    def public_url(self) -> str:
        return self.settings.server.public_url

    async def _sends_resumed(self, tenant_id: int) -> None:
        """A tenant authorized the platform again: its held notifications go out now."""
        await self.outbox.pull_forward(tenant_id, self.clock.now())
        self.delivery.wake()

    def _count_wechat_call(self, endpoint: str, outcome: str) -> None:
        self.metrics.wechat_calls.labels(endpoint, outcome).inc()

    async def start(self) -> None:
        await self.storage.connect()
        await migrate(self.storage)
        await self.registry.start()
        self.metrics.before_scrape(self.delivery.refresh_depth)
        self._background = [asyncio.ensure_future(self.tokens.run_periodic()),
                            asyncio.ensure_future(self.callbacks.purge_loop())]
        self.delivery.start()
        self.component.start()

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` first at stop (the demo's simulator server uses it)."""
        self._stop_hooks.append(hook)

    async def stop(self) -> None:
        for hook in reversed(self._stop_hooks):
            try:
                await hook()
            except Exception:
                log.exception("stop hook failed")
        await self.component.stop()
        await self.delivery.stop()
        self.webhooks.close()
        await self.test_events.close()
        await self.callbacks.drain()
        await self.tokens.stop()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self.hasher.close()
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
