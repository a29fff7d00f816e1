"""The errors users see, one class per contract error code; handlers map them to
{"error": {"code", "message", "details"}} with the fitting HTTP status."""
from __future__ import annotations

from typing import Any

from gateway.wechat.api import errors as wx


class GatewayError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class Invalid(GatewayError):
    status, code = 400, "invalid"


class Unauthorized(GatewayError):
    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    status, code = 403, "forbidden"


class NotFound(GatewayError):
    status, code = 404, "not_found"


class Conflict(GatewayError):
    status, code = 409, "conflict"


class TooLarge(GatewayError):
    status, code = 413, "too_large"


class InvalidRows(GatewayError):
    status, code = 422, "invalid_rows"


class Locked(GatewayError):
    status, code = 423, "locked"


class RateLimited(GatewayError):
    status, code = 429, "rate_limited"


class Unavailable(GatewayError):
    status, code = 503, "unavailable"


def with_code(base: type[GatewayError], code: str) -> type[GatewayError]:
    """A subclass of `base` answering with a more specific code (e.g. 401 bad_credentials)."""
    return type(f"{base.__name__}_{code}", (base,), {"code": code})


BadCredentials = with_code(Unauthorized, "bad_credentials")
AccountDisabled = with_code(Forbidden, "account_disabled")
AccountPending = with_code(Forbidden, "account_pending")
WeakPasswordError = with_code(Invalid, "weak_password")
Busy = with_code(Unavailable, "busy")  # the password-hashing queue (or the caller's share of it) is full


def wechat_unavailable(exc: wx.WeChatError) -> GatewayError:
    """A plain 503 for WeChat failures that are not the request's fault."""
    if isinstance(exc, wx.IpNotWhitelisted):
        ip = f" {exc.ip}" if exc.ip else ""
        return Unavailable(f"WeChat refused this server's IP address{ip}: add it to the account's IP whitelist")
    if isinstance(exc, wx.BadCredentials):
        return Unavailable("WeChat refused the tenant's AppID or AppSecret")
    if isinstance(exc, wx.QuotaExceeded):
        return Unavailable("the WeChat account's daily API quota is spent")
    if isinstance(exc, wx.TokenInvalid):
        return Unavailable("WeChat refused a freshly fetched access token, try again")
    return Unavailable("WeChat could not be reached, try again")
