"""WeChat's side of a third-party platform (WECHAT-COMPONENT.md): verify tickets pushed to the
platform's event URL on a timer and on demand, the component token, pre-auth and authorization
codes, authorizer tokens (accepted by every simulated API), account info, revocation, and the
pushes encrypted with the platform's key (the platform's AppID in the envelope)."""
from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from gateway.wechat.crypto import MessageCrypto, sha1_signature
from gateway.wechat.xmlmsg import build_message
from simulator.common import WxError, random_alnum, random_token
from simulator.models import App
from simulator.push import Delivery, PushRequest, deliver, new_nonce

TOKEN_TTL = 7200
TICKET_TTL = 12 * 3600
PRE_AUTH_TTL = 600
AUTH_CODE_TTL = 3600
ALL_FUNCS = (1, 2, 3, 4, 7, 11, 15)
FUNC_NAMES = {1: "消息管理", 2: "用户管理", 3: "账号服务", 4: "网页服务", 7: "群发与通知", 11: "素材管理", 15: "菜单管理"}


REFRESH_OVERLAP = 300  # a rotated refresh token keeps working this long (a staff answer's 5 minutes)


@dataclass
class Grant:
    refresh_token: str
    func_info: list[int]
    revoked: bool = False
    previous: str | None = None
    previous_until: float = 0.0

    def accepts(self, token: Any, now: float) -> bool:
        return not self.revoked and (token == self.refresh_token or (
            token is not None and token == self.previous and now < self.previous_until))


@dataclass
class AuthCode:
    appid: str
    pre_auth_code: str
    expires_at: float
    used: bool = False


@dataclass
class Platform:
    app_id: str
    secret: str
    token: str
    encoding_aes_key: str
    events_url: str | None = None
    message_url: str | None = None  # may hold $APPID$
    blocked_ip: str | None = None
    rotate_refresh_tokens: bool = True

    def crypto(self) -> MessageCrypto:
        return MessageCrypto(self.token, self.encoding_aes_key, self.app_id)


@dataclass
class ComponentSim:
    state: Any  # the SimulatorState that holds this (typed loosely: it imports this module)
    platform: Platform | None = None
    tickets: dict[str, float] = field(default_factory=dict)  # value -> created
    tokens: dict[str, float] = field(default_factory=dict)  # component_access_token -> expires_at
    pre_auth: dict[str, float] = field(default_factory=dict)  # code -> expires_at (single use: popped)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # authorizer appid -> grant
    custom_sent: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    _timer: "asyncio.Task[None] | None" = None

    def now(self) -> float:
        return self.state.now()

    def endpoints(self) -> dict[str, tuple[str, Callable[[dict[str, str], bytes], dict[str, Any]]]]:
        return {
            "cgi-bin/component/api_component_token": ("POST", self._component_token),
            "cgi-bin/component/api_create_preauthcode": ("POST", self._preauthcode),
            "cgi-bin/component/api_query_auth": ("POST", self._query_auth),
            "cgi-bin/component/api_authorizer_token": ("POST", self._authorizer_token),
            "cgi-bin/component/api_get_authorizer_info": ("POST", self._authorizer_info),
            "cgi-bin/component/api_start_push_ticket": ("POST", self._start_push_ticket),
            "sns/oauth2/component/access_token": ("GET", self._sns_token),
            "cgi-bin/message/custom/send": ("POST", self._custom_send),
        }

    # ---- configuration ------------------------------------------------------------------------------
    def configure(self, ticket_every: float = 0.0, **fields: Any) -> Platform:
        if self.platform is None:
            self.platform = Platform(app_id=str(fields.pop("app_id")), secret=str(fields.pop("secret")),
                                     token=str(fields.pop("token")),
                                     encoding_aes_key=str(fields.pop("encoding_aes_key")))
        for name, value in fields.items():
            if name not in Platform.__dataclass_fields__:
                raise ValueError(f"unknown platform field {name!r}")
            setattr(self.platform, name, value)
        self.stop_timer()
        if ticket_every > 0:
            self._timer = asyncio.ensure_future(self._ticket_loop(float(ticket_every)))
        return self.platform

    def stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _ticket_loop(self, every: float) -> None:
        while True:
            try:
                await self.push_ticket()
            except Exception:  # the gateway may be down: WeChat pushes again next time
                pass
            await asyncio.sleep(every)

    def _require(self) -> Platform:
        if self.platform is None:
            raise WxError(61011, "invalid component")
        return self.platform

    # ---- pushes to the platform ---------------------------------------------------------------------
    def _platform_push(self, url: str, fields: dict[str, str | int], to_user: str | None = None) -> PushRequest:
        platform = self._require()
        crypto = platform.crypto()
        timestamp, nonce = str(int(time.time())), new_nonce()  # wall clock, like every push (README)
        encrypt = crypto.encrypt(build_message(fields))
        outer = {"ToUserName": to_user, "Encrypt": encrypt} if to_user else {"AppId": platform.app_id,
                                                                               "Encrypt": encrypt}
        query = {"signature": sha1_signature(platform.token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "encrypt_type": "aes",
                 "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt)}
        return PushRequest(url, query, build_message(outer))

    async def _event(self, fields: dict[str, str | int]) -> Delivery:
        platform = self._require()
        if not platform.events_url:
            raise ValueError("the platform has no events_url")
        full = {"AppId": platform.app_id, "CreateTime": int(self.now()), **fields}
        delivery = await deliver(self._platform_push(platform.events_url, full))
        self.pushes.append({"fields": full, "status": delivery.status, "body": delivery.body.decode("utf-8", "replace")})
        return delivery

    async def push_ticket(self) -> tuple[str, Delivery]:
        ticket = "ticket@@@" + random_token(80)
        self.tickets[ticket] = self.now()
        return ticket, await self._event({"InfoType": "component_verify_ticket", "ComponentVerifyTicket": ticket})

    def view(self, app: App) -> App:
        """How a push for `app` travels: to the platform's message URL under its keys while the app
        has authorized the platform, else as the app's own."""
        platform, grant = self.platform, self.grants.get(app.app_id)
        if platform is None or not platform.message_url or grant is None or grant.revoked:
            return app
        return dataclasses.replace(app, token=platform.token, encoding_aes_key=platform.encoding_aes_key,
                                   app_id=platform.app_id, message_mode="safe",
                                   callback_url=platform.message_url.replace("$APPID$", app.app_id))

    # ---- authorization ------------------------------------------------------------------------------
    def take_pre_auth(self, component_appid: str, code: str) -> None:
        platform = self._require()
        if component_appid != platform.app_id:
            raise ValueError("component_appid is not the platform's")
        expires = self.pre_auth.pop(code, None)
        if expires is None or expires < self.now():
            raise ValueError("pre_auth_code is invalid, used or expired")

    async def authorize(self, appid: str, func_info: list[int], pre_auth_code: str = "") -> str:
        """The administrator of `appid` confirms: a new grant (refresh token), an authorization code,
        and the authorized (or updateauthorized) push. Returns the code."""
        app = self.state.app(appid)
        funcs = sorted({int(f) for f in func_info if int(f) in ALL_FUNCS})
        previous = self.grants.get(app.app_id)
        kind = "updateauthorized" if previous is not None and not previous.revoked else "authorized"
        self.grants[app.app_id] = Grant("refreshtoken@@@" + random_token(40), funcs)
        code = "queryauthcode@@@" + random_token(60)
        self.codes[code] = AuthCode(app.app_id, pre_auth_code, self.now() + AUTH_CODE_TTL)
        if self._require().events_url:
            await self._event({"InfoType": kind, "AuthorizerAppid": app.app_id, "AuthorizationCode": code,
                               "AuthorizationCodeExpiredTime": int(self.now()) + AUTH_CODE_TTL,
                               "PreAuthCode": pre_auth_code})
        return code

    async def revoke(self, appid: str) -> Delivery | None:
        grant = self.grants.get(appid)
        if grant is None:
            raise ValueError(f"{appid} has not authorized the platform")
        grant.revoked = True
        now = self.now()
        for token in self.state.tokens.tokens.values():
            if token.app_id == appid and token.family == "authorizer":
                token.revoked_at = now
        if self._require().events_url:
            return await self._event({"InfoType": "unauthorized", "AuthorizerAppid": appid})
        return None

    # ---- API ----------------------------------------------------------------------------------------
    def _body(self, body: bytes) -> dict[str, Any]:
        return self.state._json(body)

    def _check_ip(self) -> None:
        platform = self._require()
        if platform.blocked_ip:
            raise WxError(61004, f"access clientip is not registered, clientip: {platform.blocked_ip}")

    def _check_token(self, query: dict[str, str]) -> Platform:
        platform = self._require()
        value = query.get("component_access_token") or query.get("access_token")
        if not value:
            raise WxError(41001)
        expires = self.tokens.get(value)
        if expires is None:
            raise WxError(40001)
        if expires <= self.now():
            raise WxError(42001)
        self._check_ip()
        return platform

    def _component_token(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        data = self._body(body)
        platform = self._require()
        if data.get("component_appid") != platform.app_id:
            raise WxError(61011, "invalid component")
        if not data.get("component_appsecret"):
            raise WxError(41004)
        if data["component_appsecret"] != platform.secret:
            raise WxError(40125)
        self._check_ip()
        created = self.tickets.get(str(data.get("component_verify_ticket") or ""))
        if created is None:
            raise WxError(61006, "component ticket is invalid")
        if self.now() - created > TICKET_TTL:
            raise WxError(61005, "component ticket is expired")
        value = f"{len(self.tokens) % 90 + 10}_" + random_token(120)
        self.tokens[value] = self.now() + TOKEN_TTL
        return {"component_access_token": value, "expires_in": TOKEN_TTL}

    def _preauthcode(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        platform = self._check_token(query)
        if self._body(body).get("component_appid") != platform.app_id:
            raise WxError(61011, "invalid component")
        code = "preauthcode@@@" + random_alnum(86)
        self.pre_auth[code] = self.now() + PRE_AUTH_TTL
        return {"pre_auth_code": code, "expires_in": PRE_AUTH_TTL}

    def _issue(self, appid: str) -> dict[str, Any]:
        token = self.state.tokens._issue(self.state.app(appid), "authorizer")
        return {"authorizer_access_token": token.value, "expires_in": int(token.expires_at - token.issued_at)}

    def _query_auth(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        self._check_token(query)
        code = self.codes.get(str(self._body(body).get("authorization_code") or ""))
        if code is None or code.used:
            raise WxError(61009, "code is invalid")
        if code.expires_at < self.now():
            raise WxError(61010, "code is expired")
        code.used = True
        grant = self.grants[code.appid]
        return {"authorization_info": {
            "authorizer_appid": code.appid, **self._issue(code.appid), "authorizer_refresh_token": grant.refresh_token,
            "func_info": [{"funcscope_category": {"id": f}} for f in grant.func_info]}}

    def _authorizer_token(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        self._check_token(query)
        data = self._body(body)
        grant = self.grants.get(str(data.get("authorizer_appid") or ""))
        if grant is None or not grant.accepts(data.get("authorizer_refresh_token"), self.now()):
            raise WxError(61023, "refresh_token is invalid")
        if self._require().rotate_refresh_tokens and data.get("authorizer_refresh_token") == grant.refresh_token:
            grant.previous, grant.previous_until = grant.refresh_token, self.now() + REFRESH_OVERLAP
            grant.refresh_token = "refreshtoken@@@" + random_token(40)
        return {**self._issue(data["authorizer_appid"]), "authorizer_refresh_token": grant.refresh_token}

    def _authorizer_info(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        self._check_token(query)
        appid = str(self._body(body).get("authorizer_appid") or "")
        grant = self.grants.get(appid)
        if grant is None or grant.revoked:
            raise WxError(61003, "component is not authorized by this account")
        app = self.state.app(appid)
        return {"authorizer_info": {
            "nick_name": app.name or f"公众号 {appid[-4:]}", "head_img": "", "user_name": app.original_id,
            "service_type_info": {"id": app.service_type}, "verify_type_info": {"id": app.verify_type},
            "principal_name": "模拟企业", "alias": "", "qrcode_url": "",
            "business_info": {"open_store": 0, "open_scan": 0, "open_pay": 0, "open_card": 0, "open_shake": 0},
            "account_status": 1},
            "authorization_info": {"authorizer_appid": appid,
                                   "func_info": [{"funcscope_category": {"id": f}} for f in grant.func_info]}}

    def _start_push_ticket(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        data, platform = self._body(body), self._require()
        if data.get("component_appid") != platform.app_id or data.get("component_secret") != platform.secret:
            raise WxError(40013)
        return {"errcode": 0, "errmsg": "ok"}

    def _sns_token(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        if query.get("grant_type") != "authorization_code":
            raise WxError(40002)
        platform = self._check_token(query)
        appid = query.get("appid", "")
        grant = self.grants.get(appid)
        if query.get("component_appid") != platform.app_id or grant is None or grant.revoked or 4 not in grant.func_info:
            raise WxError(48001)
        issued = self.state.oauth.codes.get(query.get("code") or "")
        user = self.state.users.get(appid, {}).get(issued.openid) if issued is not None else None
        return self.state.oauth.exchange(appid, query.get("code"), user)

    def _custom_send(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        app = self.state._app_by_token(query)
        data = self._body(body)
        self.custom_sent.append({"app_id": app.app_id, "at": time.time(), **data})
        return {"errcode": 0, "errmsg": "ok"}

    def may_sign_in(self, component_appid: str, appid: str) -> bool:
        grant = self.grants.get(appid)
        return (self.platform is not None and component_appid == self.platform.app_id and grant is not None
                and not grant.revoked and 4 in grant.func_info)
