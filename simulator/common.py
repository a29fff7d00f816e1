"""Shared simulator pieces: the injectable clock, WeChat-style errors and random identifiers."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
_ALNUM = string.ascii_letters + string.digits
BEIJING_OFFSET = 8 * 3600  # WeChat's daily quotas roll over at midnight Beijing time

DEFAULT_ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
    40036: "invalid template_id size",
    40037: "invalid template_id",
    40097: "invalid args",
    40125: "invalid appsecret",
    40163: "code been used",
    40164: "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist",
    40243: "AppSecret frozen",
    42003: "code expired",
    43019: "require remove blacklist",
    50002: "user limited",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    42001: "access_token expired",
    43002: "require POST method",
    43004: "require subscribe",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}


class Clock:
    """Wall clock plus an offset that tests move forward with `advance`."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()

    def day(self) -> int:
        return int((self.now() + BEIJING_OFFSET) // 86400)


class WxError(Exception):
    """An API failure answered as {"errcode", "errmsg"} with HTTP 200, like WeChat."""

    def __init__(self, errcode: int, text: str | None = None) -> None:
        self.errcode = errcode
        self.text = text if text is not None else DEFAULT_ERRMSG.get(errcode, "error")
        super().__init__(f"{errcode}: {self.text}")

    def body(self) -> dict[str, Any]:
        return error_body(self.errcode, self.text)


def rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def error_body(errcode: int, text: str | None = None) -> dict[str, Any]:
    message = text if text is not None else DEFAULT_ERRMSG.get(errcode, "error")
    return {"errcode": errcode, "errmsg": f"{message} rid: {rid()}"}


def random_token(length: int) -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def random_alnum(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def random_int64() -> int:
    # Above 2**53 on purpose: WeChat ids can exceed a JavaScript/float-safe integer.
    return secrets.randbits(62) | (1 << 53)
