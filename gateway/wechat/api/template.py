"""Template message send endpoint (WECHAT.md §7.1)."""

from __future__ import annotations

from typing import Any

from gateway.wechat.api.client import WeChatHttp, require


async def send_template(
    http: WeChatHttp,
    access_token: str,
    touser: str,
    template_id: str,
    data: dict,
    url: str | None = None,
    client_msg_id: str | None = None,
) -> str:
    """POST cgi-bin/message/template/send; returns msgid as a string (it is an int64)."""
    body: dict[str, Any] = {"touser": touser, "template_id": template_id}
    if url is not None:
        body["url"] = url
    if client_msg_id is not None:
        body["client_msg_id"] = client_msg_id
    body["data"] = data
    resp = await http.post_json("cgi-bin/message/template/send", {"access_token": access_token}, body)
    return str(require(resp, "msgid"))
