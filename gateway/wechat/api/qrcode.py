"""Parametric QR code endpoint (WECHAT-COMPONENT.md §7): temporary codes with a string scene."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.wechat.api.client import WeChatHttp, require

MAX_EXPIRE_SECONDS = 2_592_000  # 30 days
MAX_SCENE_CHARS = 64


@dataclass(frozen=True)
class QrCode:
    ticket: str
    url: str  # what the QR code encodes (http://weixin.qq.com/q/…)
    expire_seconds: int


async def create_temporary_qr(http: WeChatHttp, access_token: str, scene_str: str, expire_seconds: int) -> QrCode:
    """POST cgi-bin/qrcode/create with QR_STR_SCENE; scanning it sends SCAN (or subscribe with qrscene_)."""
    if not 1 <= len(scene_str) <= MAX_SCENE_CHARS:
        raise ValueError("scene_str must be 1-64 characters")
    if not 1 <= expire_seconds <= MAX_EXPIRE_SECONDS:
        raise ValueError("expire_seconds must be 1-2592000")
    body = {"expire_seconds": expire_seconds, "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene_str}}}
    resp = await http.post_json("cgi-bin/qrcode/create", {"access_token": access_token}, body)
    return QrCode(str(require(resp, "ticket")), str(require(resp, "url")),
                  int(resp.get("expire_seconds") or expire_seconds))
