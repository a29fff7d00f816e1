"""Template message sends: body and value validation per key type, quota, client_msg_id dedupe."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from simulator.common import Clock, WxError, random_int64
from simulator.models import App, User

DEDUPE_WINDOW = 600  # same (openid, client_msg_id) within 10 minutes sends only once
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_KEY_TYPE = re.compile(r"^(.*?)\d*$")
_TIME = re.compile(r"\d{1,2}:\d{2}")
_DATE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_AMOUNT = re.compile(r"^[^\d\s.]?\d{1,10}(\.\d+)?元?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LETTER = re.compile(r"^[A-Za-z]{1,32}$")
_PHONE = re.compile(r"^[0-9+\-() #*]{1,17}$")
_CAR = re.compile(f"^[{_CJK}A-Za-z0-9][A-Za-z0-9]{{0,6}}[{_CJK}A-Za-z0-9]?$")
_PHRASE = re.compile(f"^[{_CJK}]{{1,5}}$")
_ASCII_PRINTABLE = re.compile(r"^[\x20-\x7e]{1,32}$")


def _symbols_only(value: str) -> bool:
    return 0 < len(value) <= 5 and all(not ch.isalnum() and not ch.isspace() for ch in value)


def _ranged(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        parts = value.split("~")
        return len(parts) <= 2 and all(pattern.search(part) for part in parts)

    return check


def _name_ok(value: str) -> bool:
    limit = 10 if any(ord(ch) > 127 for ch in value) else 20
    return 0 < len(value) <= limit


# Category-template rules (WECHAT.md §7.3); keys of other types (keyword1, first, ...) are legacy and free-form.
RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: 0 < len(v) <= 20,
    "number": lambda v: len(v) <= 32 and bool(_NUMBER.match(v)),
    "letter": lambda v: bool(_LETTER.match(v)),
    "symbol": _symbols_only,
    "character_string": lambda v: bool(_ASCII_PRINTABLE.match(v)) and bool(v.strip()),
    "time": _ranged(_TIME),
    "date": _ranged(_DATE),
    "amount": lambda v: bool(_AMOUNT.match(v)),
    "phone_number": lambda v: bool(_PHONE.match(v)) and any(ch.isdigit() for ch in v),
    "car_number": lambda v: bool(_CAR.match(v)),
    "name": _name_ok,
    "phrase": lambda v: bool(_PHRASE.match(v)),
    "const": lambda v: len(v) <= 20,
    "enum": lambda v: 0 < len(v) <= 20,
}


def key_type(key: str) -> str:
    match = _KEY_TYPE.match(key)
    return match.group(1) if match else key


def validate_data(data: Any) -> None:
    """Raise 47003 naming the first bad `data.<key>.value`, as WeChat's errmsg does."""
    if not isinstance(data, dict) or not data:
        raise WxError(47003, "argument invalid! data is empty")
    for key, entry in data.items():
        bad = WxError(47003, f"argument invalid! data.{key}.value invalid")
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            raise bad
        rule = RULES.get(key_type(key))
        if rule is not None and not rule(entry["value"]):
            raise bad


@dataclass
class SentTemplate:
    app_id: str
    touser: str
    template_id: str
    url: str | None
    miniprogram: dict[str, Any] | None
    data: dict[str, Any]
    client_msg_id: str | None
    msgid: int
    time: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TemplateStore:
    clock: Clock
    sent: list[SentTemplate] = field(default_factory=list)
    _daily: dict[tuple[str, int], int] = field(default_factory=dict)
    _dedupe: dict[tuple[str, str, str], SentTemplate] = field(default_factory=dict)

    def send(self, app: App, users: dict[str, User], body: dict[str, Any]) -> dict[str, Any]:
        touser = body.get("touser")
        if not isinstance(touser, str) or not touser:
            raise WxError(40003)
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise WxError(40037)
        if len(template_id) > 64:
            raise WxError(40036)
        if app.templates is not None and template_id not in app.templates:
            raise WxError(40037)
        user = users.get(touser)
        if user is None:
            raise WxError(40003)
        if not user.subscribed:
            raise WxError(43004)
        validate_data(body.get("data"))
        url = body.get("url")
        if url is not None and (not isinstance(url, str) or len(url.encode()) > 1024):
            raise WxError(40039, "invalid url size")
        now = self.clock.now()
        client_msg_id = body.get("client_msg_id")
        if client_msg_id is not None:
            client_msg_id = str(client_msg_id)
            first = self._dedupe.get((app.app_id, touser, client_msg_id))
            if first is not None and now - first.time < DEDUPE_WINDOW:
                return {"errcode": 0, "errmsg": "ok", "msgid": first.msgid}
        day_key = (app.app_id, self.clock.day())
        if self._daily.get(day_key, 0) >= app.daily_template_quota:
            raise WxError(45009)
        self._daily[day_key] = self._daily.get(day_key, 0) + 1
        record = SentTemplate(
            app_id=app.app_id,
            touser=touser,
            template_id=template_id,
            url=url,
            miniprogram=body.get("miniprogram"),
            data=body["data"],
            client_msg_id=client_msg_id,
            msgid=random_int64(),
            time=now,
        )
        self.sent.append(record)
        if client_msg_id is not None:
            self._dedupe[(app.app_id, touser, client_msg_id)] = record
        return {"errcode": 0, "errmsg": "ok", "msgid": record.msgid}

    def for_app(self, app_id: str | None) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.sent if app_id is None or s.app_id == app_id]
