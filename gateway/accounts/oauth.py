"""WeChat web authorization for sign-in: an unguessable state bound to the browser and to the
tenant, redeemed once; the code exchanged once, a repeated redirect answered like the first."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol, TypeVar

from gateway.cache import Cache
from gateway.platform.clock import Clock
from gateway.platform.config import WeChatSettings
from gateway.platform.links import clean_next
from gateway.platform.tenant import Tenant
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.errors import OAuthCodeInvalid, WeChatError
from gateway.wechat.api.component import component_authorize_url, component_exchange_code
from gateway.wechat.api.oauth import OAuthIdentity, authorize_url, exchange_code

log = logging.getLogger(__name__)
T = TypeVar("T")


class PlatformTokens(Protocol):
    """The third-party platform signing people in on an authorizer's behalf (component mode)."""
    component_appid: str

    async def call(self, fn: Callable[[str], Awaitable[T]]) -> T: ...

STATE_SECONDS = 600
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
_CODE_MAX = 512
REPLAY_WAIT_SECONDS = 10.0


class OAuthProblem(Exception):
    """The redirect cannot sign anyone in: answered with a plain page (status) and a fresh start."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class OAuthOutcome:
    next: str
    openid: str | None = None
    snapshot: bool = False


def new_browser_nonce() -> str:
    return secrets.token_hex(16)


def valid_token(value: Any) -> bool:
    return isinstance(value, str) and bool(_TOKEN_RE.match(value))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class OAuthFlow:
    def __init__(self, cache: Cache, clock: Clock, http: WeChatHttp, wechat: WeChatSettings, public_url: str,
                 platform: PlatformTokens | None = None) -> None:
        self.cache, self.clock, self.http = cache, clock, http
        self.wechat, self.public_url, self.platform = wechat, public_url, platform

    def redirect_uri(self, tenant: Tenant) -> str:
        return f"{self.public_url}/wx/{tenant.slug}/oauth"

    @staticmethod
    def _keys(tenant: Tenant, state: str) -> tuple[str, str, str]:
        base = f"{tenant.id}:{state}"
        return f"oauth:state:{base}", f"oauth:used:{base}", f"oauth:outcome:{base}"

    async def begin(self, tenant: Tenant, next_page: str, browser_nonce: str) -> str:
        """A fresh state for this browser and tenant; returns WeChat's authorize URL."""
        state = secrets.token_hex(16)  # 128 bits, [0-9a-f] as WeChat allows
        record = {"next": clean_next(next_page), "browser": _digest(browser_nonce), "at": self.clock.now()}
        await self.cache.set(self._keys(tenant, state)[0], json.dumps(record), STATE_SECONDS)
        if tenant.authorization is not None and self.platform is not None:
            return component_authorize_url(self.wechat.oauth_base, tenant.app_id, self.redirect_uri(tenant), state,
                                           self.platform.component_appid)
        return authorize_url(self.wechat.oauth_base, tenant.app_id, self.redirect_uri(tenant), state)

    async def _identify(self, tenant: Tenant, code: str) -> OAuthIdentity:
        platform = self.platform
        if tenant.authorization is not None and platform is not None:
            return await platform.call(lambda token: component_exchange_code(
                self.http, tenant.app_id, code, platform.component_appid, token))
        return await exchange_code(self.http, tenant.app_id, tenant.secrets.app_secret, code)

    async def finish(self, tenant: Tenant, state: Any, code: Any, browser_nonce: Any) -> OAuthOutcome:
        """Check the state, redeem it with this code once, and exchange the code (once)."""
        if not valid_token(state):
            raise OAuthProblem(400, "登录请求无效或缺少参数。The sign-in request is missing or malformed.")
        state_key, used_key, outcome_key = self._keys(tenant, state)
        raw = await self.cache.get(state_key)
        if raw is None:
            raise OAuthProblem(400, "登录请求已过期或无效。The sign-in request has expired or is not valid.")
        record = json.loads(raw)
        if not valid_token(browser_nonce) or not hmac.compare_digest(_digest(browser_nonce), record["browser"]):
            raise OAuthProblem(400, "请在同一个浏览器中完成登录。Finish signing in in the browser that started it.")
        if self.clock.now() - float(record["at"]) > STATE_SECONDS:
            raise OAuthProblem(400, "登录请求已过期。The sign-in request has expired.")
        if not isinstance(code, str) or not code or len(code) > _CODE_MAX:
            raise OAuthProblem(400, "未获得微信授权。WeChat did not authorise the sign-in.")
        code_digest = _digest(code)
        if not await self.cache.set_if_absent(used_key, code_digest, STATE_SECONDS):
            return await self._replay(used_key, outcome_key, code_digest)
        outcome = await self._exchange(tenant, code, record["next"])
        await self.cache.set(outcome_key, json.dumps(outcome), STATE_SECONDS)
        return self._outcome(outcome)

    async def _exchange(self, tenant: Tenant, code: str, next_page: str) -> dict[str, Any]:
        try:
            identity = await self._identify(tenant, code)
        except OAuthCodeInvalid as exc:
            log.info("oauth code refused for tenant %s: errcode %s", tenant.slug, exc.errcode)
            return {"next": next_page, "error": [400, "微信登录凭证无效或已使用，请重新进入。"
                                                      "The WeChat sign-in code is invalid or used; start again."]}
        except WeChatError as exc:
            log.warning("oauth exchange failed for tenant %s: errcode %s", tenant.slug, exc.errcode)
            return {"next": next_page, "error": [502, "微信暂时无法完成登录，请稍后再试。"
                                                      "WeChat could not complete the sign-in; try again later."]}
        return {"next": next_page, "openid": identity.openid, "snapshot": identity.is_snapshotuser}

    async def _replay(self, used_key: str, outcome_key: str, code_digest: str) -> OAuthOutcome:
        """The same state again: with the same code it leads where the first did, else it is refused."""
        first = await self.cache.get(used_key)
        if first is None or not hmac.compare_digest(first, code_digest):
            raise OAuthProblem(400, "这个登录请求已经用过了。This sign-in request has already been used.")
        waited = 0.0
        while True:
            raw = await self.cache.get(outcome_key)
            if raw is not None:
                return self._outcome(json.loads(raw))
            if waited >= REPLAY_WAIT_SECONDS:
                raise OAuthProblem(502, "登录仍在处理中，请重新进入。The sign-in is still in progress; start again.")
            await asyncio.sleep(0.1)  # the first redirect is still exchanging the code
            waited += 0.1

    @staticmethod
    def _outcome(data: dict[str, Any]) -> OAuthOutcome:
        if "error" in data:
            status, message = data["error"]
            raise OAuthProblem(int(status), str(message))
        return OAuthOutcome(next=clean_next(data["next"]), openid=data["openid"], snapshot=bool(data["snapshot"]))
