"""Custom-menu limits (WECHAT.md §8), entry-URL expansion and the default menu."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.wechat.menu_rules import DEFAULT_MENU, MenuInvalid, expand_entry_urls, validate_menu

ENTRY = "https://gw.example.com/t/acme/entry?next="


def entry_url(next_path: str) -> str:
    return ENTRY + next_path


def expanded_default() -> dict:
    return expand_entry_urls(DEFAULT_MENU, entry_url)


def invalid(menu: Any) -> MenuInvalid:
    with pytest.raises(MenuInvalid) as info:
        validate_menu(menu)
    return info.value


def test_default_menu_valid_after_expansion() -> None:
    menu = expanded_default()
    validate_menu(menu)
    first, second, mine = menu["button"]
    assert (first["name"], first["type"], first["url"]) == ("待办", "view", ENTRY + "inbox")
    assert (second["type"], second["key"]) == ("click", "INBOX")
    assert [s["name"] for s in mine["sub_button"]] == ["修改密码", "解除绑定"]
    assert mine["sub_button"][0]["url"] == ENTRY + "password"
    assert mine["sub_button"][1] == {"type": "click", "name": "解除绑定", "key": "UNBIND"}


def test_default_menu_unexpanded_is_rejected_and_untouched() -> None:
    before = copy.deepcopy(DEFAULT_MENU)
    assert invalid(DEFAULT_MENU).path == "button[0]"
    expanded_default()
    assert DEFAULT_MENU == before


def test_expansion_only_rewrites_entry_urls() -> None:
    menu = {"button": [
        {"type": "view", "name": "a", "url": "https://other.example/x"},
        {"name": "b", "sub_button": [{"type": "miniprogram", "name": "m", "appid": "wx1", "pagepath": "p",
                                      "url": "entry:inbox?tab=cc"}]},
    ]}
    out = expand_entry_urls(menu, entry_url)
    assert out["button"][0]["url"] == "https://other.example/x"
    assert out["button"][1]["sub_button"][0]["url"] == ENTRY + "inbox?tab=cc"
    assert menu["button"][1]["sub_button"][0]["url"] == "entry:inbox?tab=cc"
    validate_menu(out)


def test_expanded_url_too_long_caught_by_validation() -> None:
    out = expand_entry_urls(DEFAULT_MENU, lambda n: "https://x.example/" + "a" * 1100)
    assert invalid(out).path == "button[0]"


def click(name: str = "n", **extra: Any) -> dict:
    return {"type": "click", "name": name, "key": "K", **extra}


def with_sub(*subs: Any) -> dict:
    return {"button": [click(), {"name": "parent", "sub_button": list(subs)}]}


@pytest.mark.parametrize(
    "menu, path, words",
    [
        ([], "menu", "button"),
        ({"button": [click()], "matchrule": {}}, "menu", "button"),
        ({"button": []}, "button", "1 to 3"),
        ({"button": [click()] * 4}, "button", "1 to 3"),
        ({"button": "x"}, "button", "1 to 3"),
        ({"button": [click(), "x"]}, "button[1]", "object"),
        ({"button": [click(""), click()]}, "button[0]", "empty"),
        ({"button": [click(), click("   ")]}, "button[1]", "empty"),
        ({"button": [click(5)]}, "button[0]", "name"),
        ({"button": [click("a" * 17)]}, "button[0]", "16"),
        ({"button": [click("六个汉字汉字")]}, "button[0]", "16"),
        (with_sub(click("a" * 61)), "button[1].sub_button[0]", "60"),
        (with_sub(), "button[1]", "type or a sub_button"),
        (with_sub(*[click()] * 6), "button[1]", "1 to 5"),
        ({"button": [{"name": "p", "type": "click", "key": "K", "sub_button": [click()]}]}, "button[0]", "type"),
        (with_sub(click(), {"name": "deep", "sub_button": [click()]}), "button[1].sub_button[1]", "sub_button"),
        ({"button": [{"name": "x"}]}, "button[0]", "type"),
        ({"button": [{"type": "vieww", "name": "x", "url": "https://a"}]}, "button[0]", "vieww"),
        ({"button": [{"type": "click", "name": "x"}]}, "button[0]", "key"),
        ({"button": [{"type": "scancode_push", "name": "x", "key": ""}]}, "button[0]", "key"),
        ({"button": [click(), click(key="k" * 129)]}, "button[1]", "128"),
        ({"button": [click(), {"type": "view", "name": "v"}]}, "button[1]", "url"),
        ({"button": [{"type": "view", "name": "v", "url": "ftp://a"}]}, "button[0]", "http"),
        ({"button": [{"type": "view", "name": "v", "url": "entry:inbox"}]}, "button[0]", "http"),
        ({"button": [{"type": "view", "name": "v", "url": "https://a/" + "b" * 1015}]}, "button[0]", "1024"),
        (with_sub(click(), {"type": "miniprogram", "name": "m", "appid": "wx", "url": "https://a"}),
         "button[1].sub_button[1]", "pagepath"),
        ({"button": [{"type": "media_id", "name": "m"}]}, "button[0]", "media_id"),
        ({"button": [{"type": "view_limited", "name": "m", "media_id": ""}]}, "button[0]", "media_id"),
        ({"button": [{"type": "article_id", "name": "a"}]}, "button[0]", "article_id"),
        ({"button": [{"type": "article_view_limited", "name": "a", "media_id": "M"}]}, "button[0]", "article_id"),
        ({"button": [click(color="red")]}, "button[0]", "color"),
        ({"button": [click(url=7)]}, "button[0]", "url"),
        ({"button": [{"name": "p", "sub_button": "x"}]}, "button[0]", "1 to 5"),
        (with_sub(click(), "x"), "button[1].sub_button[1]", "object"),
    ],
)
def test_each_limit_names_the_path(menu: Any, path: str, words: str) -> None:
    err = invalid(menu)
    assert err.path == path
    assert words in err.reason
    assert str(err).startswith(path)
    assert isinstance(err.button, dict)


def test_offending_button_is_reported() -> None:
    bad = click(key="k" * 129)
    assert invalid(with_sub(click(), bad)).button == bad


def test_name_byte_boundaries() -> None:
    validate_menu({"button": [click("a" * 16), click("五个汉字啊")]})  # 16 and 15 bytes
    assert invalid({"button": [click("a" * 17)]}).path == "button[0]"
    assert invalid({"button": [click(), click("五个汉字啊啊")]}).path == "button[1]"  # 18 bytes
    validate_menu(with_sub(click("字" * 20)))  # 60 bytes
    assert invalid(with_sub(click("字" * 20 + "a"))).path == "button[1].sub_button[0]"


def test_all_types_accepted() -> None:
    leaves = [
        {"type": t, "name": t[:5], "key": "K"}
        for t in ("click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album")
    ]
    more = [
        {"type": "pic_weixin", "name": "w", "key": "K"},
        {"type": "location_select", "name": "l", "key": "K"},
        {"type": "miniprogram", "name": "m", "appid": "wx1", "pagepath": "pages/a", "url": "http://a.example"},
        {"type": "media_id", "name": "m", "media_id": "M"},
        {"type": "view_limited", "name": "m", "media_id": "M"},
    ]
    last = [
        {"type": "article_id", "name": "a", "article_id": "A"},
        {"type": "article_view_limited", "name": "a", "article_id": "A"},
        {"type": "view", "name": "v", "url": "https://a.example/" + "b" * 1000},
    ]
    validate_menu({"button": [{"name": "a", "sub_button": leaves}, {"name": "b", "sub_button": more},
                              {"name": "c", "sub_button": last}]})


def test_menu_get_shape_with_empty_sub_button_lists() -> None:
    validate_menu({"button": [{"type": "click", "name": "今日歌曲", "key": "V1001", "sub_button": []}]})
