"""Admin menu API: WeChat's limits checked before anything is sent, entry: URLs expanded, pushed
through the token centre, the last pushed menu returned, the default menu, WeChat's refusals."""
from __future__ import annotations

from wechat_env import wechat_env

PUBLIC = "http://127.0.0.1:8080"


def entry(next_page: str) -> str:
    return f"{PUBLIC}/wx/acme/entry?next={next_page}"


MENU = {"button": [
    {"type": "view", "name": "待办", "url": "entry:inbox"},
    {"type": "click", "name": "待办数", "key": "INBOX"},
    {"name": "更多", "sub_button": [
        {"type": "view", "name": "单据 42", "url": "entry:doc/42"},
        {"type": "view", "name": "官网", "url": "https://www.example.com/about?x=1"},
    ]},
]}


async def test_put_menu_expands_entry_urls_and_pushes(env):
    async with wechat_env(env) as w:
        r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", MENU)
        assert r.status == 200, r.text
        pushed = r.json
        assert pushed["button"][0]["url"] == entry("inbox")
        assert pushed["button"][2]["sub_button"][0]["url"] == entry("doc/42")
        assert pushed["button"][2]["sub_button"][1]["url"] == "https://www.example.com/about?x=1"
        shown = await w.sim.menu(w.app_id)
        assert shown is not None
        assert shown["button"][0]["url"] == entry("inbox")
        assert shown["button"][2]["sub_button"][0]["url"] == entry("doc/42")
        assert w.count("cgi-bin/menu/create") == 1 and w.count("cgi-bin/token") == 1

        got = await w.g.admin("GET", "/admin/api/tenants/acme/menu")
        assert got.status == 200 and got.json == pushed
        audit = await w.g.admin("GET", "/admin/api/tenants/acme/audit")
        assert "menu.pushed" in [item["action"] for item in audit.json["items"]]
        checklist = await w.g.admin("GET", "/admin/api/tenants/acme/checklist")
        assert {s["id"]: s["ok"] for s in checklist.json["steps"]}["menu"] is True


async def test_get_before_any_push_is_not_found(env):
    async with wechat_env(env) as w:
        r = await w.g.admin("GET", "/admin/api/tenants/acme/menu")
        assert r.status == 404 and r.json["error"]["code"] == "not_found"
        assert (await w.g.admin("GET", "/admin/api/tenants/nobody/menu")).status == 404


async def test_invalid_menus_name_the_button_and_push_nothing(env):
    async with wechat_env(env) as w:
        too_long = {"button": [{"type": "click", "name": "一二三四五六", "key": "K"}]}  # 18 bytes > 16
        four = {"button": [{"type": "click", "name": f"b{i}", "key": "K"} for i in range(4)]}
        six_subs = {"button": [{"name": "多", "sub_button": [
            {"type": "click", "name": f"s{i}", "key": "K"} for i in range(6)]}]}
        bad_type = {"button": [{"type": "click", "name": "ok", "key": "K"},
                               {"name": "更多", "sub_button": [{"type": "teleport", "name": "x", "key": "K"}]}]}
        foreign_entry = {"button": [{"type": "view", "name": "x", "url": "entry:https://evil.example/"}]}
        long_url = {"button": [{"type": "view", "name": "x", "url": "https://e.example/" + "9" * 1010}]}
        cases = [(too_long, "button[0]", "name"), (four, "button", "1 to 3"),
                 (six_subs, "button[0]", "1 to 5"), (bad_type, "button[1].sub_button[0]", "teleport"),
                 (foreign_entry, "button[0]", "entry:"), (long_url, "button[0]", "1024"),
                 ({"buttons": []}, "menu", "button"), ([1, 2], "menu", "button")]
        for menu, path, reason in cases:
            r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", menu)
            assert r.status == 400, (menu, r.text)
            error = r.json["error"]
            assert error["code"] == "invalid"
            assert set(error["details"]) == {"path", "button", "reason"}
            assert error["details"]["path"] == path and reason in error["details"]["reason"], error
        assert error["details"]["button"] == {} or isinstance(error["details"]["button"], dict)
        r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", raw=b"{not json")
        assert r.status == 400
        assert await w.sim.menu(w.app_id) is None
        assert w.count("cgi-bin/menu/create") == 0 and w.count("cgi-bin/token") == 0
        assert (await w.g.admin("GET", "/admin/api/tenants/acme/menu")).status == 404


async def test_entry_takes_only_the_gateway_pages(env):
    async with wechat_env(env) as w:
        for page in ("foo", "inbox/../../admin", "doc/../../admin", "doc/", "doc/a/b", "doc/.hidden",
                     "doc/" + "9" * 65, "login", "inbox?tab=cc", "//evil.example/", "https://evil.example/",
                     "", "Inbox", "doc/单据"):
            menu = {"button": [{"type": "click", "name": "ok", "key": "K"},
                               {"name": "更多", "sub_button": [{"type": "view", "name": "x", "url": "entry:" + page}]}]}
            r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", menu)
            assert r.status == 400, (page, r.text)
            details = r.json["error"]["details"]
            assert details["path"] == "button[1].sub_button[0]", page
            assert details["button"] == {"type": "view", "name": "x", "url": "entry:" + page}
            assert "entry:inbox" in details["reason"] and "entry:doc/<doc_id>" in details["reason"]
        assert await w.sim.menu(w.app_id) is None and w.count("cgi-bin/menu/create") == 0

        doc_id = "PO-2024_01.x" + "9" * 52  # 64 characters
        pages = {"button": [{"type": "view", "name": "注册", "url": "entry:register"},
                            {"type": "view", "name": "密码", "url": "entry:password"},
                            {"name": "单据", "sub_button": [{"type": "view", "name": "d", "url": f"entry:doc/{doc_id}"},
                                                          {"type": "view", "name": "i", "url": "entry:inbox"}]}]}
        r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", pages)
        assert r.status == 200, r.text
        assert [b.get("url") for b in r.json["button"][:2]] == [entry("register"), entry("password")]
        assert r.json["button"][2]["sub_button"][0]["url"] == entry(f"doc/{doc_id}")


async def test_default_menu_with_one_call(env):
    async with wechat_env(env) as w:
        r = await w.g.admin("POST", "/admin/api/tenants/acme/menu/default")
        assert r.status == 200, r.text
        shown = await w.sim.menu(w.app_id)
        assert shown is not None and len(shown["button"]) == 3
        assert shown["button"][0]["url"] == entry("inbox")
        assert shown["button"][2]["sub_button"][0]["url"] == entry("password")
        assert (await w.g.admin("GET", "/admin/api/tenants/acme/menu")).json == r.json


async def test_wechat_refusing_the_menu_is_400_with_its_errcode(env):
    async with wechat_env(env) as w:
        assert (await w.g.admin("PUT", "/admin/api/tenants/acme/menu", MENU)).status == 200
        await w.sim.inject_fault("cgi-bin/menu/create", 40055, count=1)
        other = {"button": [{"type": "click", "name": "只有一个", "key": "ONE"}]}
        r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", other)
        assert r.status == 400 and r.json["error"]["code"] == "invalid"
        assert r.json["error"]["details"] == {"errcode": 40055}
        got = await w.g.admin("GET", "/admin/api/tenants/acme/menu")
        assert got.json["button"][0]["url"] == entry("inbox")  # still the last one pushed


async def test_invalid_token_during_push_is_refreshed_once(env):
    async with wechat_env(env) as w:
        await w.g.gw.tokens.access_token(w.tenant)
        await w.sim.invalidate_tokens(w.app_id)
        r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", MENU)
        assert r.status == 200, r.text
        assert w.count("cgi-bin/token") == 2 and w.count("cgi-bin/menu/create") == 2


async def test_wechat_unreachable_is_503(env):
    async with wechat_env(env) as w:
        await w.sim.inject_fault("cgi-bin/menu/create", -1, count=3)
        r = await w.g.admin("PUT", "/admin/api/tenants/acme/menu", MENU)
        assert r.status == 503 and r.json["error"]["code"] == "unavailable"
        assert w.count("cgi-bin/menu/create") == 3
        assert r.json["error"]["details"] == {}


async def test_ip_not_whitelisted_is_503_naming_the_ip(env):
    async with wechat_env(env, app={"blocked_ip": "203.0.113.7"}) as w:
        r = await w.g.admin("POST", "/admin/api/tenants/acme/menu/default")
        assert r.status == 503 and "203.0.113.7" in r.json["error"]["message"]
        assert await w.sim.menu(w.app_id) is None


async def test_menu_api_needs_the_operator_token(env):
    async with wechat_env(env) as w:
        r = await w.g.request("PUT", "/admin/api/tenants/acme/menu", MENU)
        assert r.status == 401
        r = await w.g.request("POST", "/admin/api/tenants/acme/menu/default", token="wrong")
        assert r.status == 401
        assert await w.sim.menu(w.app_id) is None
