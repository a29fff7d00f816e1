"""Template message data: fill placeholders and fit each value to its key type (WECHAT.md §7.3)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

_TYPES = frozenset(
    {"thing", "number", "letter", "symbol", "character_string", "time", "date", "amount",
     "phone_number", "car_number", "name", "phrase", "const", "enum"}
)
_BEIJING = timezone(timedelta(hours=8))
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ELLIPSIS = "…"


def key_type(key: str) -> str:
    """"thing1" -> "thing", "character_string3" -> "character_string"; unknown -> "" (no limit)."""
    base = key.rstrip("0123456789")
    return base if base in _TYPES else ""


def _cut(value: str, limit: int, ellipsis: str = _ELLIPSIS) -> str:
    """At most `limit` chars; a cut value ends with `ellipsis`, counted within the limit."""
    return value if len(value) <= limit else value[: limit - len(ellipsis)] + ellipsis


# What an empty (or wholly unusable) value becomes: WeChat refuses an empty value with 47003
# (WECHAT.md §7.4), so each type gets the least misleading value that type accepts.
_EMPTY = {"number": "0", "letter": "NA", "phrase": "未知", "car_number": "无"}
_AMOUNT = re.compile(r"(?P<symbol>[^0-9])?[0-9]+(\.[0-9]+)?元?")
_SEPARATORS = re.compile(r"[\s,，'_]")


def fit_value(key: str, value: str) -> str:
    """Cut or sanitize `value` so WeChat accepts it for `key`'s type instead of failing with 47003.

    Cut values end with "…" within the limit. A value that comes out empty is never sent empty:
    "0" for number, "NA" (not available) for letter, "未知" (unknown) for phrase, "无" (none) for
    car_number, else "-" (valid for thing, character_string, name, symbol and phone_number; for
    amount, time, date and unknown keys no value is both valid and true). const and enum go
    unchanged (empty is allowed for const; any other value must match a pre-approved one).

    number: digits and one decimal point are kept ("1,234.5 台" -> "1234.5"); a negative number
    is sent as is, since dropping its sign would show another number.

    amount: separators are dropped ("¥12,000.50" -> "¥12000.50"), keeping one currency symbol and
    a trailing 元. An amount with more than 10 integer digits, a sign or words cannot be both
    valid and true; it is sent that way (WeChat may refuse it with 47003) rather than changed to
    a different amount: map such a field to a `thing` key instead.

    time/date: render_template_data turns ISO 8601 into WeChat's format; any other text (like
    "明天下午") is passed through unchanged, as the gateway cannot know what time it means.
    """
    kind = key_type(key)
    if kind in ("const", "enum"):
        return value  # must match a pre-approved value exactly
    text = " ".join(value.split())  # newlines and tabs are not allowed in a keyword line
    return _fit(kind, text) or _EMPTY.get(kind, "-")


def _fit(kind: str, text: str) -> str:
    if kind == "thing":
        return _cut(text, 20)
    if kind == "character_string":
        return re.sub(r"[^\x21-\x7e]", "", text)[:32]
    if kind == "name":
        if text.isascii():
            # "…" is non-ASCII and would make the name count as Chinese (limit 10).
            return _cut(text, 20, "...")
        return _cut(text, 10)
    if kind == "number":
        if re.match(r"-\s*[0-9]", text):
            return text
        whole, dot, frac = re.sub(r"[^0-9.]", "", text).partition(".")
        number = (whole or ("0" if frac else "")) + dot + frac.replace(".", "")
        return number[:32].rstrip(".")
    if kind == "amount":
        return _fit_amount(text)
    if kind == "letter":
        return re.sub(r"[^A-Za-z]", "", text)[:32]
    if kind == "symbol":
        return re.sub(r"[\sA-Za-z0-9\u4e00-\u9fff]", "", text)[:5]
    if kind == "phrase":
        return re.sub(r"[^\u4e00-\u9fff]", "", text)[:5]
    if kind == "car_number":
        return re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]", "", text)[:8]
    if kind == "phone_number":
        return re.sub(r"[^0-9+\- ]", "", text).strip()[:17]
    return text


def _fit_amount(text: str) -> str:
    compact = _SEPARATORS.sub("", text)
    match = _AMOUNT.fullmatch(compact)
    if match is None or (match["symbol"] and unicodedata.category(match["symbol"]) != "Sc"):
        return text  # not a plain amount (words, a sign, a range): never turned into another amount
    return compact


def format_wechat_time(iso: str) -> str:
    """"2024-01-01T15:01:00+08:00" -> "2024年1月1日 15:01"; zoned times are shown in Beijing time."""
    moment = _parse_iso(iso)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour:02d}:{moment.minute:02d}"


def _format_wechat_date(iso: str) -> str:
    moment = _parse_iso(iso)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def _parse_iso(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso.strip())  # ValueError when not ISO 8601
    return moment.astimezone(_BEIJING) if moment.tzinfo is not None else moment


def _looks_iso(text: str) -> bool:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text.strip()):
        return False
    try:
        _parse_iso(text)
    except ValueError:
        return False
    return True


def render_template_data(mapping: dict[str, str], values: dict[str, str]) -> dict[str, dict[str, str]]:
    """Fill `{name}` placeholders from `values` (missing -> ""), format ISO times, fit per key type."""
    data: dict[str, dict[str, str]] = {}
    for key, pattern in mapping.items():
        text = _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), pattern)
        kind = key_type(key)
        if kind in ("time", "date") and _looks_iso(text):
            text = format_wechat_time(text) if kind == "time" else _format_wechat_date(text)
        data[key] = {"value": fit_value(key, text)}
    return data
