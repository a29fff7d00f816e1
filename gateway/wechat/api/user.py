"""User info endpoint (WECHAT.md §9); nickname and avatar are no longer returned."""

from __future__ import annotations

from gateway.wechat.api.client import WeChatHttp


async def get_user_info(http: WeChatHttp, access_token: str, openid: str) -> dict:
    """GET cgi-bin/user/info?lang=zh_CN; `subscribe` 0 means the user does not follow."""
    return await http.get(
        "cgi-bin/user/info", {"access_token": access_token, "openid": openid, "lang": "zh_CN"}
    )
