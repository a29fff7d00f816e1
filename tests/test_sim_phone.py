"""The simulated phone's JSON back end (/_sim/phone/api/...) against a real gateway: typed text and
menu taps pushed as WeChat would and their replies kept as chat entries, follow state, template
messages shown as cards, and bad input refused."""
from __future__ import annotations

import json
from typing import Any

import tornado.httpclient

from harness import document, wait_for
from phone import PASSWORD, put_account
from wechat_env import WeChatEnv, wechat_env


async def call(wx: WeChatEnv, action: str, body: dict[str, Any] | None = None, **query: str) -> tuple[int, Any]:
    http = tornado.httpclient.AsyncHTTPClient()
    url = f"{wx.sim_url}/_sim/phone/api/{action}"
    if body is None:
        url += "?" + "&".join(f"{k}={v}" for k, v in {"app_id": wx.app_id, **query}.items())
        r = await http.fetch(url, raise_error=False)
    else:
        r = await http.fetch(url, method="POST", body=json.dumps({"app_id": wx.app_id, **body}), raise_error=False)
    return r.code, json.loads(r.body) if r.code != 404 else None


async def test_text_menu_follow_and_cards(env):
    async with wechat_env(env, reachable=True) as wx:
        assert (await wx.g.admin("POST", "/admin/api/tenants/acme/menu/default")).status == 200
        await wx.sim.add_user(wx.app_id, "o_p", subscribed=False, nickname="测试")
        code, state = await call(wx, "state", openid="o_p")
        assert code == 200 and state["subscribed"] is False and state["chat"] == []
        assert [b["name"] for b in state["menu"]["button"]] == ["待办", "待办数", "我的"]
        assert state["users"] == [{"openid": "o_p", "nickname": "测试", "subscribed": False}]

        code, state = await call(wx, "follow", {"openid": "o_p"})
        assert code == 200 and state["subscribed"] is True
        assert [e["kind"] for e in state["chat"]] == ["note", "out"] and "欢迎关注" in state["chat"][1]["text"]
        code, state = await call(wx, "send", {"openid": "o_p", "text": "待办"})
        assert state["chat"][-2] == {**state["chat"][-2], "kind": "in", "text": "待办"}
        assert state["chat"][-1]["text"].startswith("您还没有绑定账号")
        view = state["menu"]["button"][0]
        code, state = await call(wx, "tap", {"openid": "o_p", "button": view})
        assert code == 200 and state["url"] == view["url"] and "/wx/acme/entry?next=inbox" in view["url"]
        assert wx.state.current_user[wx.app_id] == "o_p"  # the in-app browser's OAuth answers for this user

        await put_account(wx.g, "acme", wx.keys["acme"], "zhang", PASSWORD, name="张三")
        assert (await wx.phone().sign_in("zhang", PASSWORD, "o_p")).status == 200
        await wx.sim.add_app(wx.app_id, template_titles={"tpl_approver": "待审批提醒"},
                             template_labels={"thing1": "单据"})
        await wx.tenant_api("PUT", "/documents/D-1", document(["zhang"], title="差旅费"))

        async def card() -> Any:
            chat = (await call(wx, "state", openid="o_p"))[1]["chat"]
            return next((e for e in chat if e["kind"] == "card"), None)
        got = await wait_for(card)
        assert got["title"] == "待审批提醒" and got["fields"][0] == {"label": "单据", "value": "差旅费"}
        assert got["fields"][1]["label"] == "事项"  # thing2: no label given, named by its type
        assert got["url"].endswith("/wx/acme/entry?next=doc/D-1")


async def test_bad_input_and_an_unreachable_account(env):
    async with wechat_env(env) as wx:  # the simulator has no callback URL for this app
        assert (await call(wx, "state", app_id="wx_nope"))[0] == 400
        assert (await call(wx, "send", {"openid": "o_p", "text": "  "}))[0] == 400
        assert (await call(wx, "scan", {"openid": "o_p", "ticket": "nothing"}))[0] == 400
        assert (await call(wx, "bogus", {"openid": "o_p"}))[0] == 404
        code, state = await call(wx, "send", {"openid": "o_p", "text": "hi"})
        assert code == 200 and state["chat"][-1]["kind"] == "error"
        assert "暂时无法提供服务" in state["chat"][-1]["text"]
