"""The simulated phone at /_sim/phone: one WeChat user's chat with one service account (menu from
the last menu pushed, passive replies as bubbles, template messages as cards) and an in-app browser
pane; a user switcher and a "scan a QR code" box. The page is plain HTML + JS (phone_assets/);
these handlers are its JSON back end, pushing to the account's callback as WeChat would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tornado.web

from simulator.control import _push, _scan
from simulator.state import SimulatorState
from simulator.web import BaseHandler

ASSETS = Path(__file__).resolve().parent / "phone_assets"
Json = dict[str, Any]
MAX_TEXT = 600


def _chat(state: SimulatorState, app_id: str, openid: str) -> list[Json]:
    return state.chats.setdefault((app_id, openid), [])


def _note(state: SimulatorState, app_id: str, openid: str, kind: str, **fields: Any) -> None:
    _chat(state, app_id, openid).append({"kind": kind, "at": state.now(), **fields})


def _reply_entry(pushed: Json) -> Json | None:
    """What the user sees of the account's passive reply: a text bubble or a news card."""
    reply = pushed.get("reply") or {}
    if pushed.get("status") != 200:
        return {"kind": "error", "text": f"该公众号暂时无法提供服务（回调 HTTP {pushed.get('status')}）"}
    if not pushed.get("reply_valid", True):
        return {"kind": "error", "text": "该公众号暂时无法提供服务，请稍后再试"}
    if reply.get("MsgType") == "text":
        return {"kind": "out", "text": reply.get("Content", "")}
    if reply.get("MsgType") == "news":
        return {"kind": "news", "title": reply.get("Title", ""), "text": reply.get("Description", ""),
                "url": reply.get("Url", "")}
    return None


def _label(key: str, labels: dict[str, str]) -> str:
    """The app's label for a template key, else a plain name for the key's type (its prefix, WECHAT.md §7.3)."""
    if key in labels:
        return labels[key]
    names = {"thing": "事项", "time": "时间", "date": "日期", "amount": "金额", "name": "姓名",
             "phrase": "状态", "character_string": "编号", "number": "数量", "letter": "代码", "symbol": "符号",
             "phone_number": "电话", "car_number": "车牌"}
    base = key.rstrip("0123456789")
    return names.get(base, key)


def _cards(state: SimulatorState, app_id: str, openid: str) -> list[Json]:
    app = state.apps.get(app_id)
    titles = app.template_titles if app is not None else {}
    labels = app.template_labels if app is not None else {}
    cards = []
    for sent in state.templates.sent:
        if sent.app_id != app_id or sent.touser != openid:
            continue
        fields = [{"label": _label(k, labels), "value": str(v.get("value", "")) if isinstance(v, dict) else str(v)}
                  for k, v in sent.data.items()]
        cards.append({"kind": "card", "at": sent.time, "title": titles.get(sent.template_id, "模板消息"),
                      "fields": fields, "url": sent.url or ""})
    return cards


def phone_state(state: SimulatorState, app_id: str, openid: str) -> Json:
    app = state.app(app_id)
    users = state.users.get(app_id, {})
    user = users.get(openid)
    chat = sorted([*_chat(state, app_id, openid), *_cards(state, app_id, openid)], key=lambda e: e["at"])
    return {
        "app": {"app_id": app.app_id, "name": app.name or app.original_id, "hint": app.hint},
        "users": [{"openid": u.openid, "nickname": u.nickname, "subscribed": u.subscribed} for u in users.values()],
        "openid": openid,
        "subscribed": bool(user and user.subscribed),
        "menu": state.menus.get(app_id),
        "chat": chat,
    }


class PhonePage(BaseHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((ASSETS / "phone.html").read_bytes())


class PhoneApi(BaseHandler):
    """GET state, POST send / tap / follow / scan / open; bad input answers 400 {"error": ...}."""

    def _pick(self, source: Json) -> tuple[str, str]:
        app_id = str(source.get("app_id") or (next(iter(self.state.apps), "")))
        self.state.app(app_id)
        openid = str(source.get("openid") or self.state.current_user.get(app_id) or "")
        if not openid:
            users = list(self.state.users.get(app_id, {}))
            openid = users[0] if users else "o_phone_user"
        if openid not in self.state.users.setdefault(app_id, {}):
            self.state.add_user(app_id, openid, subscribed=False)
        return app_id, openid

    def get(self, action: str) -> None:
        try:
            if action != "state":
                raise ValueError("GET only reads the state")
            app_id, openid = self._pick({k: self.get_query_argument(k) for k in self.request.query_arguments})
        except (ValueError, KeyError) as exc:
            self.write_json({"error": str(exc)}, status=400)
            return
        self.write_json(phone_state(self.state, app_id, openid))

    async def post(self, action: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            app_id, openid = self._pick(body)
            result = await self._act(action, app_id, openid, body)
        except (ValueError, KeyError, TypeError) as exc:
            self.write_json({"error": f"{exc}"}, status=400)
            return
        self.write_json({**result, **phone_state(self.state, app_id, openid)})

    async def _act(self, action: str, app_id: str, openid: str, body: Json) -> Json:
        state = self.state
        if action == "open":  # the in-app browser is about to open a link: OAuth answers for this user
            state.set_current_user(app_id, openid)
            return {"url": str(body.get("url", ""))}
        if action == "send":
            text = str(body.get("text", "")).strip()[:MAX_TEXT]
            if not text:
                raise ValueError("text is empty")
            _note(state, app_id, openid, "in", text=text)
            return await self._push(app_id, openid, {"type": "text", "content": text})
        if action == "tap":
            button = body.get("button") or {}
            name = str(button.get("name", ""))
            if button.get("type") == "view":
                await self._push(app_id, openid, {"type": "event", "event": "VIEW", "event_key": button["url"]})
                state.set_current_user(app_id, openid)
                return {"url": button["url"]}
            _note(state, app_id, openid, "note", text=f"点击了菜单「{name}」")
            return await self._push(app_id, openid, {"type": "event", "event": "CLICK",
                                                     "event_key": str(button.get("key", ""))})
        if action == "follow":
            follow = bool(body.get("follow", True))
            _note(state, app_id, openid, "note", text="关注了公众号" if follow else "取消了关注")
            return await self._push(app_id, openid, {"type": "event",
                                                     "event": "subscribe" if follow else "unsubscribe"})
        if action == "scan":
            _note(state, app_id, openid, "note", text="扫描了一个二维码")
            pushed = await _scan(state, {"app_id": app_id, "openid": openid, "ticket": str(body["ticket"])}, {})
            return self._record(app_id, openid, pushed)
        if action == "user":
            state.add_user(app_id, openid, subscribed=bool(body.get("subscribed", False)),
                           nickname=body.get("nickname"))
            return {}
        raise ValueError(f"unknown action {action!r}")

    async def _push(self, app_id: str, openid: str, fields: Json) -> Json:
        if not self.state.app(app_id).callback_url:
            _note(self.state, app_id, openid, "error", text="该公众号暂时无法提供服务（没有设置服务器地址）")
            return {"pushed": None}
        pushed = await _push(self.state, {"app_id": app_id, "openid": openid, **fields}, {})
        return self._record(app_id, openid, pushed)

    def _record(self, app_id: str, openid: str, pushed: Json) -> Json:
        entry = _reply_entry(pushed)
        if entry is not None:
            _note(self.state, app_id, openid, **entry)
        return {"pushed": pushed.get("status")}


def phone_routes(state: SimulatorState) -> list[Any]:
    args = {"state": state}
    return [
        (r"/_sim/phone", PhonePage, args),
        (r"/_sim/phone/api/(state|send|tap|follow|scan|open|user)", PhoneApi, args),
        (r"/_sim/phone/assets/(.*)", tornado.web.StaticFileHandler, {"path": str(ASSETS)}),
    ]
