"""The simulator's Open Platform answers as WECHAT-COMPONENT.md says: the component token only for
the right secret and a live ticket (61005 expired, 61006 unknown, 61004 IP, 40125 secret), single-use
pre-auth and authorization codes (61009), refresh tokens rotated with a 5-minute overlap and void
after revocation (61023), authorizer tokens accepted by the ordinary APIs, account info."""
from __future__ import annotations

import asyncio
import json

from simulator.state import SimulatorState

PLATFORM = {"app_id": "wxc0c0c0c0c0c0c0c0", "secret": "compSecret2026", "token": "platformToken",
            "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}


def call(state: SimulatorState, endpoint: str, body: dict | None = None, **query: str) -> dict:
    return state.handle(endpoint, "POST" if body is not None else "GET", query,
                        json.dumps(body).encode() if body is not None else b"")


def platform_state() -> tuple[SimulatorState, str]:
    state = SimulatorState()
    state.component.configure(**PLATFORM)
    ticket = "ticket@@@t1"
    state.component.tickets[ticket] = state.now()
    return state, ticket


def component_token(state: SimulatorState, ticket: str) -> dict:
    return call(state, "cgi-bin/component/api_component_token", {
        "component_appid": PLATFORM["app_id"], "component_appsecret": PLATFORM["secret"],
        "component_verify_ticket": ticket})


def test_component_token_errors():
    state, ticket = platform_state()
    assert component_token(state, "ticket@@@unknown")["errcode"] == 61006
    bad = call(state, "cgi-bin/component/api_component_token", {
        "component_appid": PLATFORM["app_id"], "component_appsecret": "wrong", "component_verify_ticket": ticket})
    assert bad["errcode"] == 40125
    state.component.configure(blocked_ip="198.51.100.7")
    assert component_token(state, ticket)["errcode"] == 61004
    state.component.configure(blocked_ip=None)
    good = component_token(state, ticket)
    assert good["expires_in"] == 7200 and good["component_access_token"][2] == "_"
    state.advance(12 * 3600 + 1)
    assert component_token(state, ticket)["errcode"] == 61005
    assert call(state, "cgi-bin/component/api_create_preauthcode", {"component_appid": PLATFORM["app_id"]},
                component_access_token="nope")["errcode"] == 40001


def test_codes_refresh_tokens_and_revocation():
    state, ticket = platform_state()
    state.add_app("wx6e65776330303031", original_id="gh_6e6577636f3031", name="新公司服务号")
    token = component_token(state, ticket)["component_access_token"]
    pre = call(state, "cgi-bin/component/api_create_preauthcode", {"component_appid": PLATFORM["app_id"]},
               access_token=token)  # the newer docs' query name works too
    assert pre["pre_auth_code"].startswith("preauthcode@@@") and pre["expires_in"] == 600
    code = asyncio.run(state.component.authorize("wx6e65776330303031", [1, 7, 15]))
    q = {"component_access_token": token}
    auth = call(state, "cgi-bin/component/api_query_auth", {"component_appid": PLATFORM["app_id"],
                                                              "authorization_code": code}, **q)
    info = auth["authorization_info"]
    assert info["authorizer_appid"] == "wx6e65776330303031"
    assert [f["funcscope_category"]["id"] for f in info["func_info"]] == [1, 7, 15]
    assert call(state, "cgi-bin/component/api_query_auth", {"component_appid": PLATFORM["app_id"],
                                                              "authorization_code": code}, **q)["errcode"] == 61009
    menu = call(state, "cgi-bin/menu/create", {"button": [{"type": "click", "name": "a", "key": "A"}]},
                access_token=info["authorizer_access_token"])
    assert menu["errcode"] == 0
    body = {"component_appid": PLATFORM["app_id"], "authorizer_appid": "wx6e65776330303031",
            "authorizer_refresh_token": info["authorizer_refresh_token"]}
    first = call(state, "cgi-bin/component/api_authorizer_token", body, **q)
    assert first["authorizer_refresh_token"] != info["authorizer_refresh_token"]
    assert "authorizer_access_token" in call(state, "cgi-bin/component/api_authorizer_token", body, **q)  # overlap
    state.advance(301)
    assert call(state, "cgi-bin/component/api_authorizer_token", body, **q)["errcode"] == 61023
    shown = call(state, "cgi-bin/component/api_get_authorizer_info",
                 {"component_appid": PLATFORM["app_id"], "authorizer_appid": "wx6e65776330303031"}, **q)
    assert shown["authorizer_info"]["user_name"] == "gh_6e6577636f3031"
    assert shown["authorizer_info"]["service_type_info"]["id"] == 2
    asyncio.run(state.component.revoke("wx6e65776330303031"))
    body["authorizer_refresh_token"] = first["authorizer_refresh_token"]
    assert call(state, "cgi-bin/component/api_authorizer_token", body, **q)["errcode"] == 61023
    assert call(state, "cgi-bin/menu/get", access_token=first["authorizer_access_token"])["errcode"] == 40001
