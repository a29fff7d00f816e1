"""Simulated accounts (apps) and their followers, with the JSON shapes the control API uses."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from simulator.common import random_alnum

MESSAGE_MODES = ("plain", "compat", "safe")


@dataclass
class App:
    """One service account as WeChat's back office knows it."""

    app_id: str
    secret: str
    token: str
    encoding_aes_key: str
    original_id: str
    message_mode: str = "safe"
    callback_url: str | None = None
    oauth_domains: list[str] = field(default_factory=list)
    token_ttl: int = 7200
    daily_template_quota: int = 100000
    blocked_ip: str | None = None
    templates: set[str] | None = None
    # Only for the simulated phone: the account's name, template titles by id, a hint for the person.
    name: str = ""
    template_titles: dict[str, str] = field(default_factory=dict)
    template_labels: dict[str, str] = field(default_factory=dict)  # data key (thing1) -> label shown
    hint: str = ""
    # What api_get_authorizer_info reports: 2 service account (0/1 subscription), verify -1 = unverified.
    service_type: int = 2
    verify_type: int = 0

    @classmethod
    def create(cls, app_id: str, **fields: Any) -> App:
        app = cls(
            app_id=app_id,
            secret=secrets.token_hex(16),
            token=random_alnum(32),
            encoding_aes_key=random_alnum(43),
            original_id="gh_" + secrets.token_hex(6),
        )
        app.update(fields)
        return app

    def update(self, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if name == "app_id":
                continue
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown app field {name!r}")
            if name == "message_mode" and value not in MESSAGE_MODES:
                raise ValueError(f"message_mode must be one of {MESSAGE_MODES}")
            if name == "encoding_aes_key" and (not isinstance(value, str) or len(value) != 43):
                raise ValueError("encoding_aes_key must be 43 characters")
            if name in ("token_ttl", "daily_template_quota"):
                value = int(value)
            if name == "templates" and value is not None:
                value = {str(v) for v in value}
            if name == "oauth_domains":
                value = [str(v).lower() for v in (value or [])]
            setattr(self, name, value)

    def allows_redirect(self, redirect_uri: str) -> bool:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        if not self.oauth_domains:
            return True
        host = parts.hostname.lower()
        return host in self.oauth_domains or parts.netloc.lower() in self.oauth_domains

    def to_json(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "secret": self.secret,
            "token": self.token,
            "encoding_aes_key": self.encoding_aes_key,
            "original_id": self.original_id,
            "message_mode": self.message_mode,
            "callback_url": self.callback_url,
            "oauth_domains": list(self.oauth_domains),
            "token_ttl": self.token_ttl,
            "daily_template_quota": self.daily_template_quota,
            "blocked_ip": self.blocked_ip,
            "templates": sorted(self.templates) if self.templates is not None else None,
            "name": self.name,
            "template_titles": dict(self.template_titles),
            "template_labels": dict(self.template_labels),
            "hint": self.hint,
        }


@dataclass
class User:
    """A WeChat user as seen by one account: openid is per (account, person)."""

    openid: str
    subscribed: bool = True
    snapshot: bool = False
    subscribe_time: int = 0
    unionid: str | None = None
    nickname: str = ""  # shown by the simulated phone's user switcher only

    def to_json(self) -> dict[str, Any]:
        return {
            "openid": self.openid,
            "nickname": self.nickname,
            "subscribed": self.subscribed,
            "snapshot": self.snapshot,
            "subscribe_time": self.subscribe_time,
            "unionid": self.unionid,
        }
