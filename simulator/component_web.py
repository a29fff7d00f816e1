"""The simulator's platform pages and control API: WeChat's authorization page (a computer's and
a phone's form: pick the account and the permissions, then back to the platform with auth_code),
and /_sim/component/… to configure the platform, push a ticket, authorize or revoke without a page."""
from __future__ import annotations

import html
from typing import Any

from simulator.component import ALL_FUNCS, AUTH_CODE_TTL, FUNC_NAMES
from simulator.control import ControlHandler, Json
from simulator.state import SimulatorState, with_query
from simulator.web import BaseHandler, query_dict

_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>公众号授权</title><style>body{{font-family:sans-serif;max-width:34em;margin:2em auto;padding:0 1em}}
label{{display:block;margin:.3em 0}}button{{font-size:1.1em;padding:.4em 1.4em;margin-top:1em}}</style></head>
<body>{body}</body></html>"""


class AuthorizationPage(BaseHandler):
    """mp.weixin.qq.com/cgi-bin/componentloginpage and the phone's bindcomponent page."""

    async def get(self) -> None:
        query = query_dict(self.request)
        chosen = query.pop("sim_appid", "")
        funcs = [int(f) for f in self.get_query_arguments("sim_func") if f.isdigit()]
        query.pop("sim_func", None)
        comp = self.state.component
        component_appid, code = query.get("component_appid", ""), query.get("pre_auth_code", "")
        redirect_uri = query.get("redirect_uri", "")
        platform = comp.platform
        problem = None
        if platform is None or component_appid != platform.app_id:
            problem = "第三方平台 component_appid 无效"
        elif code not in comp.pre_auth or comp.pre_auth[code] < comp.now():
            problem = "授权链接已失效（预授权码无效、已使用或已过期），请回到第三方平台重新发起授权。"
        elif not redirect_uri.startswith(("http://", "https://")):
            problem = "redirect_uri 无效"
        if problem:
            self._page(f"<h2>无法授权</h2><p class='errmsg'>{html.escape(problem)}</p>")
            return
        if chosen:
            comp.take_pre_auth(component_appid, code)
            auth_code = await comp.authorize(chosen, funcs, code)
            self.redirect(with_query(redirect_uri, {"auth_code": auth_code, "expires_in": str(AUTH_CODE_TTL)}))
            return
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in query.items())
        accounts = "".join(f'<option value="{html.escape(a.app_id)}">{html.escape(a.name or a.app_id)}'
                           f' ({html.escape(a.original_id)})</option>' for a in self.state.apps.values())
        boxes = "".join(f'<label><input type="checkbox" name="sim_func" value="{f}" checked> {f} {FUNC_NAMES[f]}'
                        "</label>" for f in ALL_FUNCS)
        self._page("<h2>模拟微信：授权公众号给第三方平台</h2><p>公众号管理员扫码确认后，选择要授权的公众号和权限集。</p>"
                   f'<form method="get" action="{html.escape(self.request.path)}">{hidden}'
                   f'<label>公众号 <select name="sim_appid" id="sim_appid">{accounts}</select></label>'
                   f"<fieldset><legend>权限集</legend>{boxes}</fieldset>"
                   '<button type="submit" id="sim_authorize">授权</button></form>')

    def _page(self, body: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_PAGE.format(body=body))


def _configure(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    platform = state.component.configure(**body)
    return {"app_id": platform.app_id, "events_url": platform.events_url, "message_url": platform.message_url}


def _status(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    comp = state.component
    return {"configured": comp.platform is not None, "tickets": len(comp.tickets),
            "grants": {k: {"func_info": g.func_info, "revoked": g.revoked} for k, g in comp.grants.items()},
            "pushes": comp.pushes}


async def _ticket(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    ticket, delivery = await state.component.push_ticket()
    return {"ticket": ticket, "status": delivery.status, "body": delivery.body.decode("utf-8", "replace")}


async def _authorize(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    code = await state.component.authorize(str(body["app_id"]), list(body.get("func_info") or ALL_FUNCS))
    return {"auth_code": code, "push": state.component.pushes[-1] if state.component.pushes else None}


async def _revoke(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    delivery = await state.component.revoke(str(body["app_id"]))
    return {"status": delivery.status if delivery else None,
            "body": delivery.body.decode("utf-8", "replace") if delivery else None}


def _custom_sent(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"items": state.component.custom_sent}


_ROUTES: dict[str, dict[str, Any]] = {
    "component": {"POST": _configure, "GET": _status},
    "component/ticket": {"POST": _ticket},
    "component/authorize": {"POST": _authorize},
    "component/revoke": {"POST": _revoke},
    "component/custom_sent": {"GET": _custom_sent},
}


def component_routes(state: SimulatorState) -> list[tuple[str, type, dict[str, Any]]]:
    pages: list[tuple[str, type, dict[str, Any]]] = [
        (path, AuthorizationPage, {"state": state})
        for path in (r"/cgi-bin/componentloginpage", r"/wxaopen/safe/bindcomponent", r"/safe/bindcomponent")]
    return pages + [(f"/_sim/{name}", ControlHandler, {"state": state, "actions": actions})
                    for name, actions in _ROUTES.items()]
