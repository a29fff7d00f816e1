"""Custom-menu limits (WECHAT.md §8) checked before calling menu/create, plus the default menu."""

from __future__ import annotations

import copy
from typing import Any, Callable

CLICK_LIKE = frozenset(
    {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
     "pic_weixin", "location_select"}
)
_REQUIRED: dict[str, tuple[str, ...]] = {
    **{t: ("key",) for t in CLICK_LIKE},
    "view": ("url",),
    "miniprogram": ("appid", "pagepath", "url"),
    "media_id": ("media_id",),
    "view_limited": ("media_id",),
    "article_id": ("article_id",),
    "article_view_limited": ("article_id",),
}
_LEAF_KEYS = frozenset({"type", "name", "key", "url", "appid", "pagepath", "media_id", "article_id"})
_MAX_BYTES = {"key": 128, "url": 1024}

DEFAULT_MENU: dict = {
    "button": [
        {"type": "view", "name": "待办", "url": "entry:inbox"},
        {"type": "click", "name": "待办数", "key": "INBOX"},
        {
            "name": "我的",
            "sub_button": [
                {"type": "view", "name": "修改密码", "url": "entry:password"},
                {"type": "click", "name": "解除绑定", "key": "UNBIND"},
            ],
        },
    ]
}


class MenuInvalid(ValueError):
    """The first button breaking a limit, with its `path` like "button[1].sub_button[0]"."""

    def __init__(self, path: str, button: dict, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.button = button
        self.reason = reason


def validate_menu(menu: dict) -> None:
    """Raise MenuInvalid for the first button WeChat would reject (types, counts, lengths)."""
    if not isinstance(menu, dict) or set(menu) != {"button"}:
        raise MenuInvalid("menu", menu if isinstance(menu, dict) else {}, 'must be {"button": [...]} only')
    buttons = menu["button"]
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise MenuInvalid("button", {}, "needs a list of 1 to 3 buttons")
    for i, button in enumerate(buttons):
        path = f"button[{i}]"
        _check_name(path, button, 16)
        if "sub_button" in button and button["sub_button"] != []:
            _check_parent(path, button)
        else:
            _check_leaf(path, button)


def _check_parent(path: str, button: dict) -> None:
    extra = sorted(set(button) - {"name", "sub_button"})
    if extra:
        raise MenuInvalid(path, button, f"a button with sub_button takes only a name, not {', '.join(extra)}")
    subs = button["sub_button"]
    if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
        raise MenuInvalid(path, button, "sub_button needs a list of 1 to 5 buttons")
    for j, sub in enumerate(subs):
        sub_path = f"{path}.sub_button[{j}]"
        _check_name(sub_path, sub, 60)
        if "sub_button" in sub and sub["sub_button"] != []:
            raise MenuInvalid(sub_path, sub, "sub-buttons cannot have their own sub_button")
        _check_leaf(sub_path, sub)


def _check_name(path: str, button: Any, max_bytes: int) -> None:
    if not isinstance(button, dict):
        raise MenuInvalid(path, {}, "a button must be an object")
    name = button.get("name")
    if not isinstance(name, str) or not name.strip():
        raise MenuInvalid(path, button, "name is missing or empty")
    if len(name.encode("utf-8")) > max_bytes:
        raise MenuInvalid(path, button, f"name is longer than {max_bytes} UTF-8 bytes")


def _check_leaf(path: str, button: dict) -> None:
    # menu/get returns "sub_button": [] on leaves, so an empty list is tolerated.
    extra = sorted(set(button) - _LEAF_KEYS - {"sub_button"})
    if extra:
        raise MenuInvalid(path, button, f"unknown keys {', '.join(extra)}")
    for field in _LEAF_KEYS & set(button):
        if not isinstance(button[field], str):
            raise MenuInvalid(path, button, f"{field} must be a string")
    kind = button.get("type")
    if kind is None:
        raise MenuInvalid(path, button, "needs a type or a sub_button list")
    if kind not in _REQUIRED:
        raise MenuInvalid(path, button, f"type {kind!r} is not a WeChat menu type")
    for field in _REQUIRED[kind]:
        value = button.get(field)
        if not isinstance(value, str) or not value:
            raise MenuInvalid(path, button, f"type {kind} needs a non-empty {field}")
        limit = _MAX_BYTES.get(field)
        if limit is not None and len(value.encode("utf-8")) > limit:
            raise MenuInvalid(path, button, f"{field} is longer than {limit} bytes")
    url = button.get("url")
    if "url" in _REQUIRED[kind] and not url.startswith(("http://", "https://")):
        raise MenuInvalid(path, button, "url must start with http:// or https://")


def expand_entry_urls(menu: dict, entry_url: Callable[[str], str]) -> dict:
    """Deep copy with every "url": "entry:<next>" replaced by entry_url(next); validate the result."""
    expanded = copy.deepcopy(menu)
    _expand(expanded, entry_url)
    return expanded


def _expand(node: Any, entry_url: Callable[[str], str]) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(item, entry_url)
    elif isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and url.startswith("entry:"):
            node["url"] = entry_url(url[len("entry:"):])
        for value in node.values():
            _expand(value, entry_url)
