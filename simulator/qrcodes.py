"""Parametric QR codes as WeChat keeps them (cgi-bin/qrcode/create), and what a phone's scan of
one turns into: the account it belongs to and the event WeChat pushes for it."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from simulator.common import Clock, WxError

ACTIONS = {"QR_SCENE": (False, "scene_id"), "QR_STR_SCENE": (False, "scene_str"),
           "QR_LIMIT_SCENE": (True, "scene_id"), "QR_LIMIT_STR_SCENE": (True, "scene_str")}
MAX_EXPIRE = 2_592_000
DEFAULT_EXPIRE = 30  # WxJava and older docs; the service doc says 60


@dataclass
class QrCode:
    app_id: str
    ticket: str
    url: str
    scene: str
    expires_at: float | None  # None: permanent

    def to_json(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "ticket": self.ticket, "url": self.url, "scene": self.scene,
                "expires_at": self.expires_at}


class QrStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.codes: dict[str, QrCode] = {}

    def create(self, app_id: str, data: dict[str, Any]) -> dict[str, Any]:
        action = data.get("action_name")
        if action not in ACTIONS:
            raise WxError(40052, "invalid action name")
        permanent, key = ACTIONS[str(action)]
        info = data.get("action_info")
        holder = info.get("scene") if isinstance(info, dict) else None  # without the wrapper: 40053
        value = holder.get(key) if isinstance(holder, dict) else None
        if key == "scene_str":
            if not isinstance(value, str) or not 1 <= len(value) <= 64:
                raise WxError(40053, "invalid action info")
            scene = value
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value == 0 or \
                    (permanent and not 1 <= value <= 100000):
                raise WxError(40053, "invalid action info")
            scene = str(value)
        expire = None if permanent else data.get("expire_seconds", DEFAULT_EXPIRE)
        if expire is not None and (isinstance(expire, bool) or not isinstance(expire, int)
                                   or not 1 <= expire <= MAX_EXPIRE):
            raise WxError(47001)
        # Like WeChat's: base64 that may hold "/", "+" and "=", so callers must encode it in URLs.
        ticket = "gQ" + base64.b64encode(secrets.token_bytes(45)).decode()
        url = "http://weixin.qq.com/q/" + secrets.token_urlsafe(16)
        self.codes[ticket] = QrCode(app_id, ticket, url, scene,
                                    None if expire is None else self.clock.now() + expire)
        return {"ticket": ticket, "expire_seconds": expire or 0, "url": url}

    def find(self, ticket_or_url: str) -> QrCode:
        """The code a phone scans: by its ticket, or by the URL it encodes (what a camera reads)."""
        code = self.codes.get(ticket_or_url) or next(
            (c for c in self.codes.values() if c.url == ticket_or_url.strip()), None)
        if code is None:
            raise ValueError("no such QR code (give its ticket or the URL it encodes)")
        if code.expires_at is not None and self.clock.now() >= code.expires_at:
            raise ValueError("this QR code has expired (WeChat shows 二维码已过期 and pushes nothing)")
        return code
