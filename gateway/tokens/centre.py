"""The token centre: each tenant's access_token and jsapi_ticket, fetched once for all processes,
refreshed before expiry, and the one place WeChat calls go through for token errors and retries."""
from __future__ import annotations

import asyncio
import logging
import random
import secrets
import string
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from gateway.cache import Cache, CacheError
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock
from gateway.platform.config import WeChatSettings
from gateway.platform.errors import Invalid, wechat_unavailable
from gateway.platform.metrics import Metrics
from gateway.platform.tenant_state import TenantState
from gateway.platform.token_keys import ACCESS, TICKET, token_key
from gateway.tokens.store import TokenRecord, TokenStore
from gateway.tokens.vault import TokenVault
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.errors import BadCredentials, IpNotWhitelisted, Retryable, TokenInvalid, WeChatError
from gateway.wechat.api.ticket import fetch_jsapi_ticket
from gateway.wechat.api.token import Token, fetch_access_token, fetch_stable_token
from gateway.wechat.crypto import jssdk_signature
from gateway.platform.tenant import Tenant

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_ATTEMPTS = 3
RETRY_BASE = 0.2
DUE_WITHIN = 300.0  # a token with less left is refreshed in the background while still served
PERIODIC_WITHIN = 600.0
PERIODIC_EVERY = 60.0
RECENT_USE = 7200.0
STABLE_FORCE_PER_DAY = 20
STABLE_FORCE_GAP = 30.0
_BEIJING = timezone(timedelta(hours=8))  # WeChat's daily limits roll over at midnight Beijing time

_NONCE_ALPHABET = string.ascii_letters + string.digits


def backoff(attempt: int) -> float:
    """Exponential delay with jitter before retry number `attempt` (1-based)."""
    return RETRY_BASE * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5)


class TenantLookup(Protocol):
    def get(self, slug: str) -> Tenant | None: ...


class AuthorizedTokens(Protocol):
    """Where a tenant in authorized mode gets its access token: the component token centre."""

    async def authorizer_token(self, tenant: Tenant) -> Token: ...


class TokenCentre:
    def __init__(self, wechat: WeChatSettings, cache: Cache, clock: Clock, http: WeChatHttp, state: TenantState,
                 metrics: Metrics, tenants: TenantLookup, vault: TokenVault | None = None,
                 authorized: AuthorizedTokens | None = None, audit: AuditLog | None = None) -> None:
        self.cache, self.clock, self.http, self.state, self.metrics = cache, clock, http, state, metrics
        self.tenants, self.authorized, self.audit = tenants, authorized, audit
        self._failing: dict[int, bool] = {}  # tenant id -> the last fetch failed (the system log records turns)
        self.stable = wechat.token_api == "stable"
        # The lease must outlive one fetch with all its retries, or a second process would fetch too.
        lease_ttl = max(10.0, RETRY_ATTEMPTS * wechat.timeout + 2 * RETRY_BASE * 2 ** RETRY_ATTEMPTS)
        self.store = TokenStore(cache, clock, lease_ttl, vault)
        self._used: dict[tuple[str, str], float] = {}  # (slug, kind) -> last use, for the periodic refresh
        self._background: set[asyncio.Task[Any]] = set()
        self._refreshing: set[str] = set()

    # ---- keys and reading ------------------------------------------------------------------------
    @staticmethod
    def key(tenant: Tenant, kind: str) -> str:
        return token_key(tenant.app_id, kind)

    async def access_token(self, tenant: Tenant) -> str:
        return (await self._get(tenant, ACCESS)).value

    async def jsapi_ticket(self, tenant: Tenant) -> str:
        return (await self._get(tenant, TICKET)).value

    async def _get(self, tenant: Tenant, kind: str, failed: str | None = None) -> TokenRecord:
        self._used[(tenant.slug, kind)] = self.clock.now()
        fetch = self._fetcher(tenant, kind, failed)
        record = await self.store.obtain(self.key(tenant, kind), fetch, failed)
        if record.left(self.clock.now()) < DUE_WITHIN:
            self._start_refresh(tenant, kind, DUE_WITHIN)
        return record

    def _fetcher(self, tenant: Tenant, kind: str, failed: str | None = None) -> Callable[[], Awaitable[TokenRecord]]:
        if kind == ACCESS:
            return lambda: self._fetch_access(tenant, failed)
        return lambda: self._fetch_ticket(tenant)

    # ---- calling WeChat --------------------------------------------------------------------------
    async def call(self, tenant: Tenant, fn: Callable[[str], Awaitable[T]]) -> T:
        """fn(access_token), retried once with a new token on 40001/40014/42001 and up to
        RETRY_ATTEMPTS times in all on -1, 45011 and network errors; anything else propagates."""
        token = await self.access_token(tenant)
        refreshed, attempt = False, 1
        while True:
            try:
                return await fn(token)
            except TokenInvalid:
                if refreshed:
                    raise
                refreshed = True
                await self.invalidate(tenant, token)
                token = (await self._get(tenant, ACCESS, failed=token)).value
            except Retryable:
                if attempt >= RETRY_ATTEMPTS:
                    raise
                await asyncio.sleep(backoff(attempt))
                attempt += 1
            except IpNotWhitelisted as exc:
                await self._record_failure(tenant, exc)
                raise

    async def invalidate(self, tenant: Tenant, token: str) -> None:
        """Drop the cached access_token, but only while it is still `token`."""
        if await self.store.drop_if(self.key(tenant, ACCESS), token):
            log.info("dropped the invalid access_token of %s", tenant.slug)

    async def forget(self, tenant: Tenant) -> None:
        """Drop the tenant's cached access_token and jsapi_ticket (its authorization was withdrawn)."""
        for kind in (ACCESS, TICKET):
            try:
                record = await self.store.read(self.key(tenant, kind))
            except CacheError:  # WeChat refuses the old token anyway; the first 40001 drops it then
                continue
            if record is not None:
                await self.store.drop_if(self.key(tenant, kind), record.value)

    # ---- fetching --------------------------------------------------------------------------------
    async def _fetch_access(self, tenant: Tenant, failed: str | None) -> TokenRecord:
        token = await self._with_retries(tenant, ACCESS, lambda: self._request_token(tenant, False))
        if self.stable and tenant.authorization is None and failed is not None and token.access_token == failed:
            # stable_token hands back the token WeChat just refused: only a forced refresh replaces it.
            if await self._may_force(tenant):
                log.info("forcing a new stable access_token for %s", tenant.slug)
                token = await self._with_retries(tenant, ACCESS, lambda: self._request_token(tenant, True))
            else:
                log.warning("stable_token force_refresh limit reached for %s", tenant.slug)
        return TokenRecord(token.access_token, self.clock.now() + token.expires_in)

    async def _request_token(self, tenant: Tenant, force: bool) -> Token:
        if tenant.authorization is not None:  # authorized mode: from the third-party platform, no AppSecret
            if self.authorized is None:
                raise BadCredentials(61011, "the third-party platform is not configured ([component])")
            return await self.authorized.authorizer_token(tenant)
        http, app_id, secret = self.http, tenant.app_id, tenant.secrets.app_secret
        if self.stable:
            return await fetch_stable_token(http, app_id, secret, force_refresh=force)
        return await fetch_access_token(http, app_id, secret)

    async def _may_force(self, tenant: Tenant) -> bool:
        """WeChat allows 20 forced refreshes a day, 30 s apart; count them across processes."""
        cache = self.cache
        if not await cache.set_if_absent(f"wx:stable-force-gap:{tenant.app_id}", "1", STABLE_FORCE_GAP):
            return False
        day = datetime.fromtimestamp(self.clock.now(), _BEIJING).strftime("%Y%m%d")
        return await cache.incr(f"wx:stable-force:{tenant.app_id}:{day}", 86400.0) <= STABLE_FORCE_PER_DAY

    async def _fetch_ticket(self, tenant: Tenant) -> TokenRecord:
        try:
            ticket = await self.call(tenant, lambda token: fetch_jsapi_ticket(self.http, token))
        except WeChatError as exc:
            self._count(tenant, TICKET, str(exc.errcode))
            raise
        self._count(tenant, TICKET, "ok")
        return TokenRecord(ticket.ticket, self.clock.now() + ticket.expires_in)

    async def _with_retries(self, tenant: Tenant, kind: str, request: Callable[[], Awaitable[T]]) -> T:
        attempt = 1
        while True:
            try:
                result = await request()
            except WeChatError as exc:
                self._count(tenant, kind, str(exc.errcode))
                if isinstance(exc, Retryable) and attempt < RETRY_ATTEMPTS:
                    await asyncio.sleep(backoff(attempt))
                    attempt += 1
                    continue
                await self._record_failure(tenant, exc)
                raise
            self._count(tenant, kind, "ok")
            await self._record_success(tenant)
            return result

    def _count(self, tenant: Tenant, kind: str, result: str) -> None:
        self.metrics.token_fetches.labels(tenant=tenant.slug, kind=kind, result=result).inc()

    async def _record_success(self, tenant: Tenant) -> None:
        await self._set_state(tenant, credentials_ok=True, ip_blocked=None, bad_credentials=False)
        if self._failing.pop(tenant.id, False):
            await self._log_turn(tenant, "token.recovered", {})

    async def _record_failure(self, tenant: Tenant, exc: WeChatError) -> None:
        if isinstance(exc, IpNotWhitelisted):
            log.warning("WeChat refused %s: IP %s is not in the whitelist", tenant.slug, exc.ip or "(unnamed)")
            await self._set_state(tenant, ip_blocked=exc.ip or "unknown", credentials_ok=False)
            reason = {"reason": "ip_not_whitelisted", "ip": exc.ip or "unknown", "errcode": exc.errcode}
        elif isinstance(exc, BadCredentials):
            log.warning("WeChat refused the AppID/AppSecret of %s (errcode %s)", tenant.slug, exc.errcode)
            await self._set_state(tenant, bad_credentials=True, credentials_ok=False)
            reason = {"reason": "bad_credentials", "errcode": exc.errcode}
        else:
            return
        if not self._failing.get(tenant.id):
            self._failing[tenant.id] = True
            await self._log_turn(tenant, "token.failed", reason)

    async def _log_turn(self, tenant: Tenant, action: str, detail: dict[str, Any]) -> None:
        """The token's turns (failing, working again) in the tenant's system log, once per process."""
        if self.audit is None:
            return
        try:
            await self.audit.record(tenant.id, "wechat", action, tenant.slug, detail)
        except Exception as exc:
            log.warning("could not log a token event of %s: %s", tenant.slug, type(exc).__name__)

    async def _set_state(self, tenant: Tenant, **facts: Any) -> None:
        # Best effort: a storage hiccup must not throw away a token WeChat has just issued.
        try:
            for name, value in facts.items():
                await self.state.set(tenant.id, name, value)
        except Exception as exc:
            log.warning("could not record token facts of %s: %s", tenant.slug, type(exc).__name__)

    # ---- refreshing ahead of expiry --------------------------------------------------------------
    def _start_refresh(self, tenant: Tenant, kind: str, within: float) -> None:
        key = self.key(tenant, kind)
        if key in self._refreshing:
            return
        self._refreshing.add(key)
        task = asyncio.ensure_future(self.refresh(tenant, kind, within))
        self._background.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._background.discard(finished)
            self._refreshing.discard(key)
        task.add_done_callback(done)

    async def refresh(self, tenant: Tenant, kind: str, within: float = DUE_WITHIN) -> bool:
        """Fetch a new token or ticket if the cached one has less than `within` seconds left;
        one process does it while the others keep serving the current one."""
        def due(record: TokenRecord | None) -> bool:
            return record is None or record.left(self.clock.now()) < within
        try:
            return await self.store.refresh(self.key(tenant, kind), self._fetcher(tenant, kind), due)
        except Exception as exc:  # a failed early refresh leaves the current token in service
            log.warning("early %s refresh for %s failed: %s", kind, tenant.slug, type(exc).__name__)
            return False

    async def refresh_due(self, within: float = PERIODIC_WITHIN) -> int:
        """Refresh every recently used token or ticket that is within `within` seconds of expiry."""
        now, refreshed = self.clock.now(), 0
        for (slug, kind), used_at in list(self._used.items()):
            tenant = self.tenants.get(slug)
            if tenant is None or now - used_at > RECENT_USE:
                self._used.pop((slug, kind), None)
                continue
            if await self.refresh(tenant, kind, within):
                refreshed += 1
        return refreshed

    async def run_periodic(self) -> None:
        while True:
            await asyncio.sleep(PERIODIC_EVERY)
            try:
                await self.refresh_due()
            except Exception:
                log.exception("periodic token refresh failed")

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # ---- onboarding checklist --------------------------------------------------------------------
    async def probe_credentials(self, tenant: Tenant) -> bool | None:
        """True when an access_token can be had, False when WeChat refuses the credentials or the IP,
        None when WeChat cannot be reached."""
        try:
            await self.access_token(tenant)
        except (BadCredentials, IpNotWhitelisted):
            return False
        except Exception as exc:
            log.info("credentials probe for %s inconclusive: %s", tenant.slug, type(exc).__name__)
            return None
        return True


async def jssdk_config(centre: TokenCentre, tenant: Tenant, public_url: str, url: str | None) -> dict[str, Any]:
    """`wx.config` fields for a page of this tenant under {public_url}/wx/{slug}/, signed without its #part."""
    page = (url or "").split("#", 1)[0]
    prefix = f"{public_url}/wx/{tenant.slug}/"
    segments = unquote(urlsplit(page).path).split("/")
    if (not page.startswith(prefix) or any(c.isspace() or ord(c) < 32 for c in page)
            or "." in segments or ".." in segments):
        raise Invalid(f"url must be a page under {prefix}", {"field": "url"})
    try:
        ticket = await centre.jsapi_ticket(tenant)
    except WeChatError as exc:
        raise wechat_unavailable(exc) from None
    timestamp = int(centre.clock.now())
    nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))
    return {"appId": tenant.app_id, "timestamp": timestamp, "nonceStr": nonce,
            "signature": jssdk_signature(ticket, nonce, timestamp, page)}
