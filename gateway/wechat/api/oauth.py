"""Web authorization (OAuth2): the authorize redirect URL and the code exchange (WECHAT.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from gateway.wechat.api.client import WeChatHttp, require


@dataclass
class OAuthIdentity:
    openid: str
    scope: str
    is_snapshotuser: bool  # a virtual openid from snapshot mode: never bind it
    unionid: str | None


def authorize_url(
    oauth_base: str, app_id: str, redirect_uri: str, state: str, scope: str = "snsapi_base"
) -> str:
    """The authorize redirect, parameters in WeChat's order; `#wechat_redirect` is mandatory."""
    return (
        f"{oauth_base.rstrip('/')}/connect/oauth2/authorize?appid={quote(app_id, safe='')}"
        f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code"
        f"&scope={quote(scope, safe='')}&state={quote(state, safe='')}#wechat_redirect"
    )


async def exchange_code(http: WeChatHttp, app_id: str, secret: str, code: str) -> OAuthIdentity:
    """GET sns/oauth2/access_token; a code is single-use and expires after 5 minutes."""
    data = await http.get(
        "sns/oauth2/access_token",
        {"appid": app_id, "secret": secret, "code": code, "grant_type": "authorization_code"},
    )
    return OAuthIdentity(
        openid=str(require(data, "openid")),
        scope=str(data.get("scope", "")),
        is_snapshotuser=str(data.get("is_snapshotuser", "0")) == "1",
        unionid=str(data["unionid"]) if data.get("unionid") else None,
    )
