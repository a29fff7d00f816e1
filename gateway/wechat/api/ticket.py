"""JS-SDK jsapi_ticket endpoint (WECHAT.md §5); cache it per AppID like the access_token."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.wechat.api.client import WeChatHttp, require


@dataclass
class Ticket:
    ticket: str
    expires_in: int


async def fetch_jsapi_ticket(http: WeChatHttp, access_token: str) -> Ticket:
    """GET cgi-bin/ticket/getticket?type=jsapi."""
    data = await http.get("cgi-bin/ticket/getticket", {"access_token": access_token, "type": "jsapi"})
    return Ticket(str(require(data, "ticket")), int(require(data, "expires_in")))
