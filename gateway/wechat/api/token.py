"""Global access_token endpoints: classic cgi-bin/token and cgi-bin/stable_token (WECHAT.md §4)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.wechat.api.client import WeChatHttp, require


@dataclass
class Token:
    access_token: str
    expires_in: int


async def fetch_access_token(http: WeChatHttp, app_id: str, secret: str) -> Token:
    """GET cgi-bin/token; each call invalidates the previous token (5-minute overlap)."""
    data = await http.get(
        "cgi-bin/token", {"grant_type": "client_credential", "appid": app_id, "secret": secret}
    )
    return Token(str(require(data, "access_token")), int(require(data, "expires_in")))


async def fetch_stable_token(
    http: WeChatHttp, app_id: str, secret: str, force_refresh: bool = False
) -> Token:
    """POST cgi-bin/stable_token; without force_refresh repeated calls return the same token."""
    body = {
        "grant_type": "client_credential",
        "appid": app_id,
        "secret": secret,
        "force_refresh": force_refresh,
    }
    data = await http.post_json("cgi-bin/stable_token", {}, body)
    return Token(str(require(data, "access_token")), int(require(data, "expires_in")))
