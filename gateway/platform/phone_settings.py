"""A tenant's `phone` settings: how long closed documents stay readable on the phone
(`retention_days`) and the time zone the phone pages show times in (`time_zone`, an IANA name
checked with zoneinfo), with their defaults and every problem named."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_PHONE: dict[str, Any] = {"retention_days": 180, "time_zone": "Asia/Shanghai"}
RETENTION_DAYS = (1, 3650)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not 1 <= len(name) <= 64 or name.startswith("/") or ".." in name:
        return "phone.time_zone must be a time zone name such as Asia/Shanghai"
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"phone.time_zone {name[:64]} is not a known time zone (e.g. Asia/Shanghai)"
    return None


def validate_phone_settings(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["phone must be an object"]
    problems = [f"phone.{key} is not a known setting" for key in sorted(map(str, data)) if key not in DEFAULT_PHONE]
    if "retention_days" in data:
        value, (low, high) = data["retention_days"], RETENTION_DAYS
        if type(value) is not int or not low <= value <= high:
            problems.append(f"phone.retention_days must be an integer from {low} to {high}")
    if "time_zone" in data:
        problem = zone_problem(data["time_zone"])
        if problem:
            problems.append(problem)
    return problems


def local_iso(ts: float | None, zone_name: str) -> str | None:
    """Unix seconds as ISO 8601 in the tenant's zone, with its offset (what the phone shows as is)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=zone(zone_name)).isoformat(timespec="seconds")


def local_text_iso(text: str, zone_name: str) -> str:
    """An ISO 8601 time given with any offset (a document's submitted_at), moved to the tenant's zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(zone(zone_name)).isoformat(timespec="seconds")
    except OverflowError:  # a time at the edge of year 1 or 9999 has no local time in every zone
        return text


def retention_cutoff(phone: dict[str, Any], now: float) -> float:
    """Documents closed before this moment are gone from the phone (the tenant's `phone` settings)."""
    return now - int(phone["retention_days"]) * 86400.0
