"""The WeChat callback pipeline of every tenant: size, signature, freshness, hardened parsing and
decryption, then dedupe across processes and dispatch to the tenant's rules. Every callback answers
within ANSWER_SECONDS whatever storage does: bookkeeping writes finish after the answer."""
from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
import traceback
from dataclasses import dataclass
from typing import Any, Awaitable, Mapping, Protocol

from gateway.cache import Cache
from gateway.callbacks.dedupe import DUPLICATE, SUCCESS, Background, ReplyDedupe, dedupe_key, within
from gateway.platform.errors import Forbidden, GatewayError, Invalid, TooLarge
from gateway.callbacks.followers import FollowerStore
from gateway.callbacks.rulebook import RuleBook
from gateway.platform.clock import Clock
from gateway.platform.metrics import Metrics
from gateway.platform.tenant_state import TenantState
from gateway.storage import Storage, StorageError
from gateway.wechat.crypto import CryptoError, MessageCrypto, check_signature, decrypt_with_any
from gateway.wechat.signed_query import SignedQuery
from gateway.wechat.xmlmsg import MAX_XML_BYTES, XmlError, parse_xml
from gateway.platform.tenant import Tenant
from tenants import BindScans, DeliveryHook, InboxProvider, Links, MessageContext, NoBindScans, Rule, route

log = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
ANSWER_SECONDS = 4.5         # WeChat gives up after 5 s; leave room for the reply to travel
HANDLER_SECONDS = 4.0        # at most, and never past the answer's deadline
LOOKUP_SECONDS = 1.9         # storage lookups of a handler end by then: a frozen database costs < 2 s
DUPLICATE_WAIT_SECONDS = ANSWER_SECONDS  # a concurrent retry waits for the first one's reply until then
PURGE_EVERY_SECONDS = 3600.0
SEEN_REWRITE_SECONDS = 30.0  # as TenantState.REWRITE_SECONDS
_MESSAGE_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


@dataclass(frozen=True)
class MessageKeys:
    """Who signs and encrypts a callback: the tenant's own Token and keys (direct mode), or the
    third-party platform's for an authorizer (its AppID inside every envelope, safe mode only, and
    the message must be addressed to the tenant's gh_ id)."""
    token: str
    aes_keys: tuple[str, ...]
    app_id: str
    safe_only: bool
    to_user: str | None = None


@dataclass(frozen=True)
class CallbackResponse:
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def reply(cls, body: bytes) -> "CallbackResponse":
        """A passive reply (XML) or the bare `success` acknowledgement."""
        return cls(body, "application/xml; charset=utf-8" if body.startswith(b"<") else "text/plain; charset=utf-8")


class Rejected(Exception):
    """A refused callback: the metric outcome and the error the caller answers with."""

    def __init__(self, outcome: str, error: GatewayError) -> None:
        super().__init__(outcome)
        self.outcome, self.error = outcome, error


class TenantsBySlug(Protocol):
    def require(self, slug: str) -> Tenant: ...

    async def previous_aes_key_stored(self, slug: str) -> str | None: ...

    async def retire_previous_aes_key(self, slug: str, current_key: str) -> bool: ...


class _FollowersLater:
    """Follow and unfollow notes written after the answer: the welcome never waits on storage."""

    def __init__(self, store: FollowerStore, background: Background) -> None:
        self.store, self.background = store, background

    async def record(self, tenant: Tenant, openid: str, subscribed: bool) -> None:
        self.background.spawn(self.store.record(tenant, openid, subscribed), "follower note")


def _later(hook: DeliveryHook, background: Background) -> DeliveryHook:
    """A delivery report recorded after the answer (WeChat only needs `success`)."""
    async def run(tenant: Tenant, msgid: str, status: str) -> None:
        await hook(tenant, msgid, status)

    async def record(tenant: Tenant, msgid: str, status: str) -> None:
        background.spawn(run(tenant, msgid, status), "delivery report")
    return record


@functools.lru_cache(maxsize=4096)
def _crypto(token: str, encoding_aes_key: str, app_id: str) -> MessageCrypto:
    """One MessageCrypto per account and key, not one per callback (the key is decoded once)."""
    return MessageCrypto(token, encoding_aes_key, app_id)


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to find a bug without logging the message (it may
    quote what the user wrote)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


class CallbackService:
    def __init__(self, storage: Storage, cache: Cache, clock: Clock, tenants: TenantsBySlug, state: TenantState,
                 metrics: Metrics, public_url: str, inbox: InboxProvider,
                 deliveries: DeliveryHook, rulebook: RuleBook, bind_scans: BindScans | None = None) -> None:
        self.tenants, self.clock, self.state, self.metrics = tenants, clock, state, metrics
        self.public_url, self.inbox, self.deliveries, self.rulebook = public_url, inbox, deliveries, rulebook
        self.bind_scans: BindScans = bind_scans or NoBindScans()
        self.followers = FollowerStore(storage, clock)
        self.background = Background()
        self._followers_later = _FollowersLater(self.followers, self.background)
        self.dedupe = ReplyDedupe(storage, cache, clock, self.background)
        self._late: set[asyncio.Task[Any]] = set()
        self._noting_seen: set[int] = set()  # tenants whose callback_seen write is under way
        self._seen_noted: dict[int, float] = {}  # tenant id -> when this process last wrote callback_seen

    # ---- entry points ---------------------------------------------------------------------
    async def verify_url(self, slug: str, query: SignedQuery) -> CallbackResponse:
        """The GET handshake: echostr back, verbatim, for a correctly signed and fresh request."""
        tenant = self.tenants.require(slug)
        return await self._measured(tenant, self._verify(tenant, query))

    async def handle(self, slug: str, query: SignedQuery, body: bytes, size: int,
                     platform: MessageKeys | None = None) -> CallbackResponse:
        """A POST push; `size` is the full body length (`body` may be cut short when it is too large).
        `platform`: the third-party platform's keys, for a tenant in authorized mode."""
        deadline = asyncio.get_running_loop().time() + ANSWER_SECONDS
        tenant = self.tenants.require(slug)
        return await self._measured(tenant, self._process(tenant, query, body, size, deadline, platform))

    @staticmethod
    def _keys(tenant: Tenant, platform: MessageKeys | None) -> MessageKeys:
        if platform is not None:
            if tenant.authorization is None:
                raise Rejected("bad_signature", Forbidden("this account is not connected by authorization"))
            return platform
        if tenant.authorization is not None or not tenant.secrets.token:
            # WeChat sends an authorizer's messages to the platform's URL: the tenant's own URL takes nothing.
            raise Rejected("bad_signature", Forbidden("this account is connected by authorization"))
        keys = tuple(k for k in (tenant.secrets.encoding_aes_key, tenant.secrets.previous_encoding_aes_key) if k)
        return MessageKeys(tenant.secrets.token, keys, tenant.app_id, tenant.message_mode == "safe")

    async def _measured(self, tenant: Tenant, work: Awaitable[tuple[CallbackResponse, str]]) -> CallbackResponse:
        started = time.perf_counter()
        outcome = "error"
        try:
            response, outcome = await work
            return response
        except Rejected as exc:
            outcome = exc.outcome
            raise exc.error from None
        finally:
            self.metrics.callbacks.labels(tenant=tenant.slug, outcome=outcome).inc()
            self.metrics.callback_seconds.labels(tenant=tenant.slug).observe(time.perf_counter() - started)

    async def _verify(self, tenant: Tenant, query: SignedQuery) -> tuple[CallbackResponse, str]:
        self._check_signed(tenant, query, self._keys(tenant, None))
        if not query.echostr:
            raise Rejected("bad_request", Forbidden("echostr is missing"))
        return CallbackResponse(query.echostr.encode("utf-8")), "verified"

    async def _process(self, tenant: Tenant, query: SignedQuery, body: bytes, size: int,
                       deadline: float, platform: MessageKeys | None = None) -> tuple[CallbackResponse, str]:
        if size > MAX_XML_BYTES:
            raise Rejected("too_large", TooLarge(f"the body is larger than {MAX_XML_BYTES} bytes",
                                                 {"limit": MAX_XML_BYTES}))
        keys = self._keys(tenant, platform)
        self._check_signed(tenant, query, keys)
        encrypted = query.encrypt_type.lower() == "aes"
        if not encrypted and keys.safe_only:
            # A plain `signature` does not cover the body, so safe mode accepts only msg_signature'd bodies.
            raise Rejected("bad_signature", Forbidden("this account expects encrypted messages"))
        outer = self._parse(body)
        crypto: MessageCrypto | None = None
        if encrypted:
            message, crypto, key_used = self._decrypt(keys, query, outer)
            if platform is None:
                await self._finish_key_rotation(tenant, key_used)
        else:
            message = outer
        if any(not message.get(name) for name in _MESSAGE_FIELDS) or not message["CreateTime"].isdigit():
            raise Rejected("bad_xml", Invalid("the message lacks ToUserName, FromUserName, CreateTime or MsgType"))
        if keys.to_user and message["ToUserName"] != keys.to_user:
            raise Rejected("bad_crypto", Forbidden("the message is addressed to another account"))

        key = dedupe_key(message)
        if key is None:
            reply, outcome = await self._dispatch(tenant, message, query, crypto, deadline)
            return CallbackResponse.reply(reply), outcome
        claim = await self.dedupe.claim(tenant.id, key, deadline)
        if claim.reply is not None:
            return CallbackResponse.reply(claim.reply), "duplicate"
        assert claim.record is not None
        if claim.pending:
            self.background.spawn(self._handle_once_claimed(tenant, message, query, crypto, key, claim.record),
                                  "deferred callback")
            return CallbackResponse.reply(SUCCESS), "deferred"
        reply, outcome = await self._dispatch(tenant, message, query, crypto, deadline)
        await self.dedupe.store(tenant.id, key, reply, claim.record)
        return CallbackResponse.reply(reply), outcome

    async def _handle_once_claimed(self, tenant: Tenant, message: Mapping[str, str], query: SignedQuery,
                                   crypto: MessageCrypto | None, key: str, record: "asyncio.Future[str]") -> None:
        """WeChat got `success` before storage (the only guard, the cache being down) said whether this
        call won the claim; handle the message now unless another call holds it."""
        if await record == DUPLICATE:
            return
        deadline = asyncio.get_running_loop().time() + HANDLER_SECONDS
        reply, _ = await self._dispatch(tenant, message, query, crypto, deadline)
        await self.dedupe.store(tenant.id, key, reply, record)

    # ---- checks ---------------------------------------------------------------------------
    def _check_signed(self, tenant: Tenant, query: SignedQuery, keys: MessageKeys) -> None:
        if not check_signature(keys.token, query.signature, query.timestamp, query.nonce):
            raise Rejected("bad_signature", Forbidden("the signature is not valid"))
        timestamp = query.timestamp
        if not timestamp.isdigit() or len(timestamp) > 12 or \
                abs(self.clock.now() - int(timestamp)) > MAX_SKEW_SECONDS:
            raise Rejected("stale", Forbidden("the timestamp is more than 300 seconds off"))
        self._note_seen(tenant)

    def _note_seen(self, tenant: Tenant) -> None:
        """Record callback_seen for the checklist after the answer, not on the callback's clock."""
        if tenant.id in self._noting_seen:
            return
        now = time.monotonic()
        if now - self._seen_noted.get(tenant.id, -SEEN_REWRITE_SECONDS) < SEEN_REWRITE_SECONDS:
            return  # written moments ago: no task per callback for a fact that does not change
        self._seen_noted[tenant.id] = now
        self._noting_seen.add(tenant.id)

        async def record() -> None:
            try:
                await self.state.set(tenant.id, "callback_seen", True)
            except StorageError:
                self._seen_noted.pop(tenant.id, None)  # try again with the next callback
                log.warning("callback_seen not recorded for %s (storage unavailable)", tenant.slug)
            finally:
                self._noting_seen.discard(tenant.id)

        self.background.spawn(record(), "recording callback_seen")

    @staticmethod
    def _parse(body: bytes) -> dict[str, str]:
        try:
            return parse_xml(body)
        except XmlError:
            raise Rejected("bad_xml", Invalid("the body is not an acceptable WeChat XML message")) from None

    def _decrypt(self, message_keys: MessageKeys, query: SignedQuery,
                 outer: dict[str, str]) -> tuple[dict[str, str], MessageCrypto, str]:
        """The inner message, the crypto that opened it (for the reply) and that crypto's key."""
        encrypt = outer.get("Encrypt", "")
        if not encrypt or not outer.get("ToUserName"):
            raise Rejected("bad_xml", Invalid("an encrypted message needs ToUserName and Encrypt"))
        keys = list(message_keys.aes_keys)
        if not keys:
            raise Rejected("bad_crypto", Forbidden("this account has no EncodingAESKey"))
        cryptos = [_crypto(message_keys.token, key, message_keys.app_id) for key in keys]
        if not cryptos[0].check_msg_signature(query.msg_signature, query.timestamp, query.nonce, encrypt):
            raise Rejected("bad_signature", Forbidden("the msg_signature is not valid"))
        try:
            plaintext, crypto = decrypt_with_any(cryptos, encrypt)
        except CryptoError:
            # One answer for bad base64, padding, length or another AppID: no oracle for an attacker.
            raise Rejected("bad_crypto", Forbidden("the message does not decrypt for this account")) from None
        return self._parse(plaintext), crypto, keys[cryptos.index(crypto)]

    async def _finish_key_rotation(self, tenant: Tenant, key_used: str) -> None:
        """While a previous EncodingAESKey is kept: the first message under the new key drops it
        for good (stored, so every process stops using it); a message under the previous key is
        refused if another process dropped it meanwhile."""
        previous = tenant.secrets.previous_encoding_aes_key
        if not previous:
            return
        try:
            if key_used == previous:
                if await self.tenants.previous_aes_key_stored(tenant.slug) != previous:
                    raise Rejected("bad_crypto", Forbidden("the message does not decrypt for this account"))
                return
            if await self.tenants.retire_previous_aes_key(tenant.slug, key_used):
                log.info("EncodingAESKey rotation of %s finished: the previous key is dropped", tenant.slug)
                await self.state.set(tenant.id, "aes_key_rotation_finished", self.clock.now())
        except StorageError:
            log.warning("EncodingAESKey rotation of %s not checked (storage unavailable)", tenant.slug)

    # ---- dispatch -------------------------------------------------------------------------
    def context(self, tenant: Tenant, message: Mapping[str, str], lookup_deadline: float | None = None) -> MessageContext:
        return MessageContext(
            tenant=tenant, message=message, links=Links(self.public_url, tenant.slug), inbox=self.inbox,
            deliveries=_later(self.deliveries, self.background), followers=self._followers_later, clock=self.clock,
            lookup_deadline=lookup_deadline, bind_scans=self.bind_scans)

    async def _dispatch(self, tenant: Tenant, message: Mapping[str, str], query: SignedQuery,
                        crypto: MessageCrypto | None, deadline: float) -> tuple[bytes, str]:
        ctx = self.context(tenant, message, deadline - (ANSWER_SECONDS - LOOKUP_SECONDS))
        rule = route(self.rulebook.rules_for(tenant), ctx)
        if rule is None:
            return SUCCESS, "ok"
        task = asyncio.ensure_future(rule.handler(ctx))
        try:
            limit = min(HANDLER_SECONDS, deadline - asyncio.get_running_loop().time())
            reply = await within(task, limit)
        except asyncio.TimeoutError:
            self._finish_late(task, tenant, rule, message)
            return SUCCESS, "timeout"
        except Exception as exc:
            self._handler_failed(tenant, rule, message, exc, "error")
            return SUCCESS, "handler_error"
        if reply is None:
            return SUCCESS, "ok"
        xml = reply.to_xml(message["FromUserName"], message["ToUserName"], int(self.clock.now()))
        if crypto is None:
            return xml, "ok"
        try:
            return crypto.encrypt_reply(xml, query.timestamp, query.nonce), "ok"
        except ValueError:
            # The request's nonce cannot be written into the reply XML safely: sign with fresh values.
            return crypto.encrypt_reply(xml, str(int(self.clock.now())), secrets.token_hex(8)), "ok"

    def _handler_failed(self, tenant: Tenant, rule: Rule, message: Mapping[str, str], exc: BaseException,
                        kind: str) -> None:
        self.metrics.handler_errors.labels(tenant=tenant.slug, kind=kind).inc()
        log.error("handler %s of tenant %s failed on %s/%s: %s at %s", rule.name, tenant.slug,
                  message.get("MsgType", ""), message.get("Event", ""), type(exc).__name__, _where(exc))

    def _finish_late(self, task: "asyncio.Task[Any]", tenant: Tenant, rule: Rule,
                     message: Mapping[str, str]) -> None:
        """WeChat got `success`; the handler keeps running and its end is logged and counted."""
        self.metrics.handler_errors.labels(tenant=tenant.slug, kind="timeout").inc()
        kind = (message.get("MsgType", ""), message.get("Event", ""))
        log.warning("handler %s of tenant %s ran past the callback's deadline on %s/%s; answered success, "
                    "still running", rule.name, tenant.slug, *kind)
        started = time.perf_counter()
        self._late.add(task)

        def done(finished: "asyncio.Task[Any]") -> None:
            self._late.discard(finished)
            if finished.cancelled():
                log.error("late handler %s of tenant %s was cancelled", rule.name, tenant.slug)
            elif finished.exception() is not None:
                self._handler_failed(tenant, rule, message, finished.exception(), "late_error")  # type: ignore[arg-type]
            else:
                log.info("late handler %s of tenant %s finished after %.1f s more", rule.name, tenant.slug,
                         time.perf_counter() - started)

        task.add_done_callback(done)

    async def drain(self, timeout: float = 5.0) -> None:
        """Give handlers still running past their deadline, and the writes after answers, a moment to
        finish at shutdown (storage closes next)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (pending := self._late | self.background.tasks | self.dedupe.journal.writing) \
                and loop.time() < deadline:
            await asyncio.wait(pending, timeout=deadline - loop.time())

    async def purge_loop(self) -> None:
        delay = 60.0 + secrets.randbelow(60)  # processes started together do not all purge at once
        while True:
            await asyncio.sleep(delay)
            delay = PURGE_EVERY_SECONDS
            try:
                await self.dedupe.purge()
            except StorageError:
                log.warning("old callback dedupe rows not purged (storage unavailable)")
