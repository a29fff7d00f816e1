"""WeChat API error tree and the one errcode table deciding retry, token refresh or give-up."""

from __future__ import annotations

import re


class WeChatError(Exception):
    """A WeChat API call failed; `errmsg` is WeChat's text, never holding a token or secret."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def meaning(self) -> str:
        return ERROR_TABLE.get(self.errcode, (PermanentError, "unknown error"))[1]


class TokenInvalid(WeChatError):
    """Drop the access_token if it is still the cached one, refetch once, retry once."""


class Retryable(WeChatError):
    """Transient: retry with backoff."""


class NetworkError(Retryable):
    """Timeout, connection error, HTTP error status or a non-JSON body (our errcode -2)."""


class QuotaExceeded(WeChatError):
    """Daily quota spent: stop and alert, retrying only burns more."""


class IpNotWhitelisted(WeChatError):
    """The gateway's egress IP is not in the account's whitelist: ops must add `ip`."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        # 40164 says "invalid ip <ip> ..."; the platform's 61004 "access clientip is not registered, clientip: <ip>"
        match = re.search(r"(?:invalid ip|clientip:) ?([0-9A-Fa-f.:]+)", errmsg)
        self.ip: str | None = match.group(1) if match else None


class BadCredentials(WeChatError):
    """AppID/AppSecret wrong or frozen: a tenant configuration error."""


_UNREACHABLE_REASONS = {
    43004: "not_subscribed",
    40003: "invalid_openid",
    43019: "blacklisted",
    50002: "user_limited",
}


class UserUnreachable(WeChatError):
    """This recipient cannot get messages; `reason` says why. Skip the user, not the tenant."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.reason: str = _UNREACHABLE_REASONS.get(errcode, "unreachable")


class OAuthCodeInvalid(WeChatError):
    """The OAuth code is missing, used, expired or invalid: restart the authorization."""


class PermanentError(WeChatError):
    """Anything else: retrying the same request will not help."""


ERROR_TABLE: dict[int, tuple[type[WeChatError], str]] = {
    -2: (NetworkError, "network error, timeout, HTTP error or non-JSON response (gateway code)"),
    -1: (Retryable, "system busy"),
    40001: (TokenInvalid, "AppSecret wrong, or access_token invalid or not latest"),
    40002: (BadCredentials, "invalid grant_type"),
    40003: (UserUnreachable, "invalid openid"),
    40013: (BadCredentials, "invalid appid"),
    40014: (TokenInvalid, "invalid access_token"),
    40015: (PermanentError, "invalid menu type"),
    40016: (PermanentError, "invalid button count"),
    40017: (PermanentError, "invalid button type"),
    40018: (PermanentError, "invalid button name length"),
    40019: (PermanentError, "invalid button key length"),
    40020: (PermanentError, "invalid button url length"),
    40022: (PermanentError, "invalid sub-menu level"),
    40023: (PermanentError, "invalid sub-button count"),
    40024: (PermanentError, "invalid sub-button type"),
    40025: (PermanentError, "invalid sub-button name length"),
    40026: (PermanentError, "invalid sub-button key length"),
    40027: (PermanentError, "invalid sub-button url length"),
    40029: (OAuthCodeInvalid, "invalid OAuth code"),
    40030: (PermanentError, "invalid refresh_token"),
    40033: (PermanentError, "illegal \\uxxxx characters in request"),
    40036: (PermanentError, "invalid template_id length"),
    40037: (PermanentError, "invalid template_id"),
    40039: (PermanentError, "invalid url length"),
    40054: (PermanentError, "invalid sub-button url domain"),
    40055: (PermanentError, "invalid button url domain"),
    40125: (BadCredentials, "invalid appsecret"),
    40163: (OAuthCodeInvalid, "OAuth code already used"),
    40164: (IpNotWhitelisted, "caller IP not in whitelist"),
    40243: (BadCredentials, "AppSecret frozen"),
    41001: (PermanentError, "access_token missing"),
    41007: (PermanentError, "missing sub-menu data"),
    41008: (OAuthCodeInvalid, "OAuth code missing"),
    41009: (PermanentError, "openid missing"),
    42001: (TokenInvalid, "access_token expired"),
    42002: (PermanentError, "refresh_token expired"),
    42003: (OAuthCodeInvalid, "OAuth code expired"),
    42007: (PermanentError, "user changed password, re-authorize"),
    43002: (PermanentError, "POST required"),
    43003: (PermanentError, "HTTPS required"),
    43004: (UserUnreachable, "receiver does not follow the account"),
    43019: (UserUnreachable, "receiver is in the account's blacklist"),
    43101: (PermanentError, "user refused or has no subscription left"),
    44002: (PermanentError, "empty POST body"),
    45009: (QuotaExceeded, "daily API quota reached"),
    45011: (Retryable, "minute rate limit reached, retry next minute"),
    45015: (PermanentError, "reply time limit exceeded (48 h window)"),
    45047: (PermanentError, "customer-service downlink limit reached"),
    46002: (PermanentError, "menu version does not exist"),
    46003: (PermanentError, "menu does not exist"),
    46004: (PermanentError, "user does not exist"),
    47001: (PermanentError, "JSON/XML parse error"),
    47003: (PermanentError, "template argument invalid"),
    48001: (PermanentError, "API not authorized for this account"),
    48004: (PermanentError, "API banned"),
    50001: (PermanentError, "user not authorized for this API"),
    50002: (UserUnreachable, "user limited (account frozen or closed)"),
    61004: (IpNotWhitelisted, "client IP not registered"),
    61005: (PermanentError, "component_verify_ticket expired"),
    61006: (PermanentError, "component_verify_ticket invalid (or component token refused)"),
    61009: (OAuthCodeInvalid, "authorization code invalid or used"),
    61010: (OAuthCodeInvalid, "authorization code expired"),
    61011: (BadCredentials, "invalid component"),
    61023: (BadCredentials, "authorizer_refresh_token invalid (authorization revoked?)"),
    61024: (PermanentError, "must use api_component_token for a component account"),
    65316: (PermanentError, "too many menu jump domains (max 3)"),
    65317: (PermanentError, "invalid menu url"),
    89501: (PermanentError, "IP pending admin confirmation"),
    89503: (PermanentError, "call needs admin confirmation of the IP"),
    89506: (PermanentError, "admin rejected the IP, retry after 24 h"),
    89507: (PermanentError, "admin rejected the IP, retry after 1 h"),
}


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """Build the exception the table assigns to `errcode` (PermanentError when unknown)."""
    return ERROR_TABLE.get(errcode, (PermanentError, ""))[0](errcode, errmsg)
