"""A tenant as the gateway holds it in memory: public settings, decrypted secrets, and
the public JSON view (never a secret) with the URLs the tenant types into WeChat."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from gateway.platform.clock import iso
from gateway.platform.phone_settings import DEFAULT_PHONE

DEFAULT_POLICY: dict[str, Any] = {
    "max_login_failures": 5, "lockout_minutes": 15, "password_min_length": 8, "password_classes": [],
    "first_login_change_password": True, "allow_mobile_registration": False,
}
DEFAULT_PEOPLE = {"login_column": "工号", "name_column": "姓名", "position_column": "职位",
                  "wechat_column": "微信号"}
DEFAULT_LOGGING = {"mobile": True, "system": True}
SECRET_WECHAT_KEYS = ("app_secret", "token", "encoding_aes_key")


@dataclass
class TenantSecrets:
    app_secret: str
    token: str
    encoding_aes_key: str | None = None
    previous_encoding_aes_key: str | None = None
    webhook_secret: str = ""


@dataclass
class Tenant:
    id: int
    slug: str
    name: str
    # Public configuration, in the shape of the admin API body minus the secrets.
    config: dict[str, Any]
    secrets: TenantSecrets
    created_at: float
    updated_at: float
    revision: int = 1
    replies: list[dict[str, str]] = field(default_factory=list)
    # Set when the account is connected by authorization to the gateway's third-party platform
    # (gateway/component): {"appid", "status": "authorized"|"revoked", "func_info": [ids], "nick_name",
    # "user_name", "service_type", "verify_type", "authorized_at", "revoked_at"}. Never a secret.
    authorization: dict[str, Any] | None = None

    @property
    def mode(self) -> str:
        """"authorized" (by the third-party platform) or "direct" (AppSecret handed over)."""
        return "authorized" if self.authorization else "direct"

    @property
    def suspended(self) -> bool:
        """True while the account has revoked the platform's authorization: nothing is sent for it."""
        return self.authorization is not None and self.authorization.get("status") != "authorized"

    @property
    def app_id(self) -> str:
        return str(self.config["wechat"]["app_id"])

    @property
    def original_id(self) -> str | None:
        return self.config["wechat"].get("original_id")

    @property
    def message_mode(self) -> str:
        return str(self.config["wechat"].get("message_mode") or "plain")

    @property
    def webapi_url(self) -> str | None:
        return self.config.get("webapi_url")

    @property
    def templates(self) -> dict[str, Any]:
        return dict(self.config.get("templates") or {})

    @property
    def policy(self) -> dict[str, Any]:
        return {**DEFAULT_POLICY, **(self.config.get("policy") or {})}

    @property
    def people(self) -> dict[str, str]:
        return {**DEFAULT_PEOPLE, **(self.config.get("people") or {})}

    @property
    def logging(self) -> dict[str, bool]:
        return {**DEFAULT_LOGGING, **(self.config.get("logging") or {})}

    @property
    def phone(self) -> dict[str, Any]:
        """retention_days and time_zone of the phone pages (gateway/platform/phone_settings.py)."""
        return {**DEFAULT_PHONE, **(self.config.get("phone") or {})}

    @property
    def time_zone(self) -> str:
        return str(self.phone["time_zone"])

    @property
    def domains(self) -> list[str]:
        return list(self.config.get("domains") or [])

    def urls(self, public_url: str) -> dict[str, str]:
        base = f"{public_url}/wx/{self.slug}"
        callback = f"{public_url}/wx/component/{self.app_id}/callback" if self.authorization else f"{base}/callback"
        return {"callback": callback, "menu_entry": f"{base}/entry?next=inbox",
                "oauth_domain": urlparse(public_url).hostname or ""}

    def public_view(self, public_url: str) -> dict[str, Any]:
        body = copy.deepcopy(self.config)
        wechat = body.setdefault("wechat", {})
        for key in SECRET_WECHAT_KEYS:
            wechat.pop(key, None)
        wechat["has_encoding_aes_key"] = bool(self.secrets.encoding_aes_key)
        return {
            "slug": self.slug, "name": self.name, **{k: v for k, v in body.items() if k not in ("slug", "name")},
            "policy": self.policy, "people": self.people, "logging": self.logging,
            "phone": self.phone,
            "mode": self.mode, **({"authorization": copy.deepcopy(self.authorization)} if self.authorization else {}),
            "urls": self.urls(public_url), "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
        }
