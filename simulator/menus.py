"""Custom menu validation with WeChat's limits and error codes (WECHAT.md §8)."""

from __future__ import annotations

import copy
from typing import Any

from simulator.common import WxError

KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
BUTTON_TYPES = KEY_TYPES | {"view", "miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"}
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128
URL_BYTES = 1024

# (top-level code, sub-button code) per kind of fault.
_CODES: dict[str, tuple[int, int]] = {
    "type": (40017, 40024),
    "name": (40018, 40025),
    "key": (40019, 40026),
    "url": (40020, 40027),
    "domain": (40055, 40054),
}
_TEXTS: dict[str, tuple[str, str]] = {
    "type": ("invalid button type", "invalid sub button type"),
    "name": ("invalid button name size", "invalid sub button name size"),
    "key": ("invalid button key size", "invalid sub button key size"),
    "url": ("invalid button url size", "invalid sub button url size"),
    "domain": ("invalid button url domain", "invalid sub button url domain"),
}


def _fail(kind: str, sub: bool) -> WxError:
    return WxError(_CODES[kind][sub], _TEXTS[kind][sub])


def _size(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else -1


def _check_leaf(button: dict[str, Any], sub: bool) -> None:
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise _fail("type", sub)
    if kind in KEY_TYPES and not 0 < _size(button.get("key")) <= KEY_BYTES:
        raise _fail("key", sub)
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not 0 < _size(url) <= URL_BYTES:
            raise _fail("url", sub)
        if not str(url).startswith(("http://", "https://")):
            raise _fail("domain", sub)
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath")):
        raise WxError(40097)
    if kind in ("media_id", "view_limited") and not button.get("media_id"):
        raise WxError(40007, "invalid media_id")
    if kind in ("article_id", "article_view_limited") and not button.get("article_id"):
        raise WxError(40097)


def _check_name(button: dict[str, Any], sub: bool) -> None:
    if not 0 < _size(button.get("name")) <= (SUB_NAME_BYTES if sub else TOP_NAME_BYTES):
        raise _fail("name", sub)


def validate_menu(body: Any) -> dict[str, Any]:
    """Return the menu as /cgi-bin/menu/get shows it, or raise the error WeChat would answer."""
    if not isinstance(body, dict):
        raise WxError(47001)
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise WxError(40016, "invalid button size")
    for button in buttons:
        if not isinstance(button, dict):
            raise WxError(47001)
        _check_name(button, sub=False)
        subs = button.get("sub_button")
        if isinstance(subs, list) and subs:
            if len(subs) > 5:
                raise WxError(40023, "invalid sub button size")
            for sub in subs:
                if not isinstance(sub, dict):
                    raise WxError(47001)
                if sub.get("sub_button"):
                    raise WxError(40022, "invalid sub menu level")
                _check_name(sub, sub=True)
                _check_leaf(sub, sub=True)
        elif subs is not None and not isinstance(subs, list):
            raise WxError(47001)
        else:
            _check_leaf(button, sub=False)
    return _as_shown(body)


def _as_shown(body: dict[str, Any]) -> dict[str, Any]:
    # menu/get echoes every button with a "sub_button" list, empty for leaves.
    shown = copy.deepcopy({"button": body["button"]})
    for button in shown["button"]:
        button.setdefault("sub_button", [])
        for sub in button["sub_button"]:
            sub.setdefault("sub_button", [])
    return shown
