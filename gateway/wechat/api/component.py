"""Third-party platform (component) endpoints (WECHAT-COMPONENT.md §2, §3, §5): the component
token, pre-auth codes, exchanging an authorization code, refreshing an authorizer's token, the
authorizer's account info, and web sign-in on an authorizer's behalf."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from gateway.wechat.api.client import WeChatHttp, require
from gateway.wechat.api.oauth import OAuthIdentity
from gateway.wechat.api.token import Token

PC_AUTH_PAGE = "https://mp.weixin.qq.com/cgi-bin/componentloginpage"
MOBILE_AUTH_PAGE = "https://open.weixin.qq.com/wxaopen/safe/bindcomponent"


@dataclass
class Authorization:
    """What api_query_auth / api_authorizer_token answer for one authorizer."""
    authorizer_appid: str
    access_token: str
    expires_in: int
    refresh_token: str | None
    func_info: list[int] = field(default_factory=list)


@dataclass
class AuthorizerInfo:
    nick_name: str
    user_name: str  # the gh_ original id
    service_type: int  # 0/1 subscription account, 2 service account
    verify_type: int  # -1 unverified, 0 and up: verified
    principal_name: str = ""
    qrcode_url: str = ""
    func_info: list[int] = field(default_factory=list)


def _func_ids(items: Any) -> list[int]:
    ids: list[int] = []
    for item in items or []:
        try:
            ids.append(int(item["funcscope_category"]["id"]))
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(set(ids))


def _query(token: str) -> dict[str, str]:
    return {"component_access_token": token}


async def component_token(http: WeChatHttp, app_id: str, secret: str, ticket: str) -> Token:
    data = await http.post_json("cgi-bin/component/api_component_token", {}, {
        "component_appid": app_id, "component_appsecret": secret, "component_verify_ticket": ticket})
    return Token(str(require(data, "component_access_token")), int(require(data, "expires_in")))


async def create_preauthcode(http: WeChatHttp, app_id: str, token: str) -> tuple[str, int]:
    data = await http.post_json("cgi-bin/component/api_create_preauthcode", _query(token),
                                {"component_appid": app_id})
    return str(require(data, "pre_auth_code")), int(data.get("expires_in") or 600)


async def query_auth(http: WeChatHttp, app_id: str, token: str, code: str) -> Authorization:
    data = await http.post_json("cgi-bin/component/api_query_auth", _query(token),
                                {"component_appid": app_id, "authorization_code": code})
    info = require(data, "authorization_info")
    return Authorization(str(require(info, "authorizer_appid")), str(info.get("authorizer_access_token") or ""),
                         int(info.get("expires_in") or 0), info.get("authorizer_refresh_token") or None,
                         _func_ids(info.get("func_info")))


async def authorizer_token(http: WeChatHttp, app_id: str, token: str, authorizer_appid: str,
                           refresh_token: str) -> Authorization:
    data = await http.post_json("cgi-bin/component/api_authorizer_token", _query(token), {
        "component_appid": app_id, "authorizer_appid": authorizer_appid, "authorizer_refresh_token": refresh_token})
    return Authorization(authorizer_appid, str(require(data, "authorizer_access_token")),
                         int(require(data, "expires_in")), data.get("authorizer_refresh_token") or None)


async def authorizer_info(http: WeChatHttp, app_id: str, token: str, authorizer_appid: str) -> AuthorizerInfo:
    data = await http.post_json("cgi-bin/component/api_get_authorizer_info", _query(token),
                                {"component_appid": app_id, "authorizer_appid": authorizer_appid})
    info = require(data, "authorizer_info")
    # authorization_info is often missing or empty in real answers: func_info then stays empty.
    auth = data.get("authorization_info") or {}
    return AuthorizerInfo(
        nick_name=str(info.get("nick_name") or ""), user_name=str(info.get("user_name") or ""),
        service_type=int((info.get("service_type_info") or {}).get("id", 2)),
        verify_type=int((info.get("verify_type_info") or {}).get("id", -1)),
        principal_name=str(info.get("principal_name") or ""), qrcode_url=str(info.get("qrcode_url") or ""),
        func_info=_func_ids(auth.get("func_info") if isinstance(auth, dict) else None))


def auth_page_urls(component_appid: str, pre_auth_code: str, redirect_uri: str, pc_page: str = PC_AUTH_PAGE,
                   mobile_page: str = MOBILE_AUTH_PAGE) -> dict[str, str]:
    """The authorization page for a computer (scan with WeChat) and inside WeChat on a phone;
    auth_type=1: service and subscription accounts only."""
    common = (f"component_appid={quote(component_appid, safe='')}&pre_auth_code={quote(pre_auth_code, safe='')}"
              f"&redirect_uri={quote(redirect_uri, safe='')}&auth_type=1")
    return {"pc": f"{pc_page}?{common}",
            "mobile": f"{mobile_page}?action=bindcomponent&no_scan=1&{common}#wechat_redirect"}


def component_authorize_url(oauth_base: str, app_id: str, redirect_uri: str, state: str, component_appid: str,
                            scope: str = "snsapi_base") -> str:
    """Web authorization on an authorizer's behalf: the usual URL plus component_appid, in WeChat's order."""
    return (f"{oauth_base.rstrip('/')}/connect/oauth2/authorize?appid={quote(app_id, safe='')}"
            f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code&scope={quote(scope, safe='')}"
            f"&state={quote(state, safe='')}&component_appid={quote(component_appid, safe='')}#wechat_redirect")


async def component_exchange_code(http: WeChatHttp, app_id: str, code: str, component_appid: str,
                                  component_token_value: str) -> OAuthIdentity:
    data = await http.get("sns/oauth2/component/access_token", {
        "appid": app_id, "code": code, "grant_type": "authorization_code", "component_appid": component_appid,
        "component_access_token": component_token_value})
    return OAuthIdentity(openid=str(require(data, "openid")), scope=str(data.get("scope", "")),
                         is_snapshotuser=str(data.get("is_snapshotuser", "0")) == "1",
                         unionid=str(data["unionid"]) if data.get("unionid") else None)


async def send_custom_text(http: WeChatHttp, access_token: str, openid: str, content: str) -> None:
    """message/custom/send (the full-network release test's API step)."""
    await http.post_json("cgi-bin/message/custom/send", {"access_token": access_token},
                         {"touser": openid, "msgtype": "text", "text": {"content": content}})
