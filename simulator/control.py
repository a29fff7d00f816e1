"""The JSON control API under /_sim/: set up apps and users, inject faults, move time, push messages."""

from __future__ import annotations

import inspect
import json
from typing import Any, Awaitable, Callable, Union

from simulator.oauth import SCOPES
from simulator.push import PushRequest, build_push, build_verify, deliver, inspect_reply, message_fields
from simulator.state import SimulatorState
from simulator.web import BaseHandler

Json = dict[str, Any]
Action = Callable[[SimulatorState, Json, dict[str, str]], Union[Json, Awaitable[Json]]]


class ControlHandler(BaseHandler):
    """Runs the action registered for the HTTP method; bad input answers 400 {"error": ...}."""

    def initialize(self, state: SimulatorState, actions: dict[str, Action] | None = None) -> None:
        super().initialize(state)
        self.actions = actions or {}

    async def _run(self, method: str) -> None:
        action = self.actions.get(method)
        if action is None:
            self.write_json({"error": f"{method} not allowed"}, status=405)
            return
        try:
            body = json.loads(self.request.body or b"{}") if method != "GET" else {}
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            query = {k: self.get_query_argument(k) for k in self.request.query_arguments}
            result = action(self.state, body, query)
            if inspect.isawaitable(result):
                result = await result
        except (ValueError, KeyError, TypeError) as exc:
            self.write_json({"error": f"{type(exc).__name__}: {exc}"}, status=400)
            return
        self.write_json(result)

    async def get(self) -> None:
        await self._run("GET")

    async def post(self) -> None:
        await self._run("POST")

    async def delete(self) -> None:
        await self._run("DELETE")


def _add_app(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    app_id = body.pop("app_id", None)
    return state.add_app(str(app_id or ""), **body).to_json()


def _list_apps(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"apps": [app.to_json() for app in state.apps.values()]}


def _add_user(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    user = state.add_user(
        body["app_id"],
        body["openid"],
        subscribed=bool(body.get("subscribed", True)),
        snapshot=bool(body.get("snapshot", False)),
        unionid=body.get("unionid"),
        nickname=body.get("nickname"),
    )
    return user.to_json()


def _list_users(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"users": [u.to_json() for u in state.users.get(query["app_id"], {}).values()]}


def _current_user(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    state.set_current_user(body["app_id"], body.get("openid"))
    return {"ok": True, "app_id": body["app_id"], "openid": state.current_user.get(body["app_id"])}


def _list_faults(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"faults": [dict(f.__dict__) for f in state.faults]}


def _add_fault(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    state.inject_fault(body["endpoint"], body["errcode"], body.get("count", 1), body.get("app_id"), body.get("errmsg"))
    return _list_faults(state, body, query)


def _clear_faults(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    state.faults.clear()
    return {"faults": []}


def _latency(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    state.set_latency(body["endpoint"], float(body["seconds"]))
    return {"latency": dict(state.latencies)}


def _invalidate(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"invalidated": state.invalidate_tokens(body["app_id"])}


def _clock(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    if "advance" in body:
        state.advance(float(body["advance"]))
    return {"now": state.now(), "offset": state.clock.offset}


def _sent(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"sent": state.templates.for_app(query.get("app_id"))}


def _calls(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"calls": state.call_counts()}


def _menu(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    return {"menu": state.menus.get(query["app_id"])}


def _reset(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    state.reset()
    return {"ok": True}


def _oauth_code(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    """A code as if the user had just passed the authorize page (skips the browser hop)."""
    app_id, openid, scope = body["app_id"], body["openid"], body.get("scope", "snsapi_base")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    if openid not in state.users.setdefault(state.app(app_id).app_id, {}):
        state.add_user(app_id, openid, subscribed=False)
    return {"code": state.oauth.issue_code(app_id, openid, scope)}


async def _push(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    app = state.app(body["app_id"])
    openid = str(body["openid"])
    msg_type = body.get("type", "text")
    mode = body.get("mode") or app.message_mode
    fields = message_fields(
        app,
        openid,
        msg_type,
        content=body.get("content"),
        event=body.get("event"),
        event_key=body.get("event_key"),
        extra=body.get("extra"),
        msg_id=body.get("msg_id"),
        create_time=body.get("create_time"),
    )
    if msg_type == "event" and body.get("event") in ("subscribe", "unsubscribe"):
        # The user acts before WeChat tells the account, so the follow state changes first.
        state.set_subscribed(app.app_id, openid, body["event"] == "subscribe")
    timestamp = str(body["timestamp"]) if body.get("timestamp") is not None else None
    nonce = str(body["nonce"]) if body.get("nonce") is not None else None
    view = state.component.view(app)  # an authorizer's messages go to its third-party platform
    mode = mode if view is app else "safe"
    request = build_push(view, fields, mode, timestamp, nonce, body.get("url"))
    delivery = await deliver(request, float(body.get("timeout", 5.0)), int(body.get("attempts", 1)))
    return {
        "status": delivery.status,
        "body": delivery.body.decode("utf-8", "replace"),
        "error": delivery.error,
        "attempts": delivery.attempts,
        **inspect_reply(view, mode, openid, delivery.status, delivery.body),
        "message": fields,
        "request": request.to_json(),
    }


async def _scan(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    """The user scans a parametric QR code (by ticket or the URL it encodes): a follower's scan pushes
    SCAN with the bare scene, anyone else follows and pushes subscribe with qrscene_<scene>."""
    code = state.qrcodes.find(str(body["ticket"]))
    if body.get("app_id") not in (None, code.app_id):
        raise ValueError("this QR code belongs to another account: scanning it opens that account")
    openid = str(body["openid"])
    user = state.users.setdefault(code.app_id, {}).get(openid)
    following = user is not None and user.subscribed
    push = {"app_id": code.app_id, "openid": openid, "type": "event", "extra": {"Ticket": code.ticket},
            "event": "SCAN" if following else "subscribe",
            "event_key": code.scene if following else f"qrscene_{code.scene}"}
    return await _push(state, push, query)


async def _push_raw(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    raw = body.get("body", "")
    request = PushRequest(
        str(body["url"]),
        {str(k): str(v) for k, v in (body.get("query") or {}).items()},
        raw.encode("utf-8") if isinstance(raw, str) else bytes(raw),
        str(body.get("method", "POST")).upper(),
    )
    delivery = await deliver(request, float(body.get("timeout", 5.0)), int(body.get("attempts", 1)))
    result: Json = {
        "status": delivery.status,
        "body": delivery.body.decode("utf-8", "replace"),
        "error": delivery.error,
        "attempts": delivery.attempts,
        "request": request.to_json(),
    }
    if body.get("app_id"):
        app = state.component.view(state.app(body["app_id"]))  # an authorizer's replies: the platform's keys
        openid = str(body.get("openid") or request.query.get("openid", ""))
        mode = body.get("mode") or app.message_mode
        result.update(inspect_reply(app, mode, openid, delivery.status, delivery.body))
    return result


async def _verify(state: SimulatorState, body: Json, query: dict[str, str]) -> Json:
    app = state.app(body["app_id"])
    request = build_verify(app, body.get("echostr"), body.get("url"))
    delivery = await deliver(request, float(body.get("timeout", 5.0)))
    reply = delivery.body.decode("utf-8", "replace")
    return {
        "status": delivery.status,
        "body": reply,
        "ok": delivery.status == 200 and reply == request.query["echostr"],
        "error": delivery.error,
        "request": request.to_json(),
    }


_ROUTES: dict[str, dict[str, Action]] = {
    "apps": {"GET": _list_apps, "POST": _add_app},
    "users": {"GET": _list_users, "POST": _add_user},
    "current_user": {"POST": _current_user},
    "faults": {"GET": _list_faults, "POST": _add_fault, "DELETE": _clear_faults},
    "latency": {"POST": _latency},
    "invalidate_tokens": {"POST": _invalidate},
    "clock": {"GET": _clock, "POST": _clock},
    "sent": {"GET": _sent},
    "calls": {"GET": _calls},
    "menu": {"GET": _menu},
    "reset": {"POST": _reset},
    "oauth_code": {"POST": _oauth_code},
    "push": {"POST": _push},
    "push_raw": {"POST": _push_raw},
    "scan": {"POST": _scan},
    "verify": {"POST": _verify},
}


def control_routes(state: SimulatorState) -> list[tuple[str, type[ControlHandler], dict[str, Any]]]:
    return [
        (f"/_sim/{name}", ControlHandler, {"state": state, "actions": actions}) for name, actions in _ROUTES.items()
    ]
