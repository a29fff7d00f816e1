"""OAuth2 web authorization: single-use codes that expire after 5 minutes, exchanged for web tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.common import Clock, WxError, random_alnum, random_token
from simulator.models import User

CODE_TTL = 300
WEB_TOKEN_TTL = 7200
SCOPES = ("snsapi_base", "snsapi_userinfo")


@dataclass
class OAuthCode:
    code: str
    app_id: str
    openid: str
    scope: str
    issued_at: float
    used: bool = False


@dataclass
class WebToken:
    access_token: str
    refresh_token: str
    app_id: str
    openid: str
    scope: str
    expires_at: float


@dataclass
class OAuthStore:
    clock: Clock
    codes: dict[str, OAuthCode] = field(default_factory=dict)
    web_tokens: dict[str, WebToken] = field(default_factory=dict)

    def issue_code(self, app_id: str, openid: str, scope: str) -> str:
        code = OAuthCode(random_alnum(32), app_id, openid, scope, self.clock.now())
        self.codes[code.code] = code
        return code.code

    def exchange(self, app_id: str, code_value: str | None, user: User | None) -> dict[str, Any]:
        if not code_value:
            raise WxError(41008)
        code = self.codes.get(code_value)
        if code is None or code.app_id != app_id:
            raise WxError(40029)
        if code.used:
            raise WxError(40163)
        if self.clock.now() - code.issued_at >= CODE_TTL:
            raise WxError(40029)
        code.used = True
        token = WebToken(
            access_token=random_token(100),
            refresh_token=random_token(100),
            app_id=app_id,
            openid=code.openid,
            scope=code.scope,
            expires_at=self.clock.now() + WEB_TOKEN_TTL,
        )
        self.web_tokens[token.access_token] = token
        result: dict[str, Any] = {
            "access_token": token.access_token,
            "expires_in": WEB_TOKEN_TTL,
            "refresh_token": token.refresh_token,
            "openid": code.openid,
            "scope": code.scope,
        }
        if user is not None and user.snapshot:
            result["is_snapshotuser"] = 1
        if user is not None and user.unionid and code.scope == "snsapi_userinfo":
            result["unionid"] = user.unionid
        return result
