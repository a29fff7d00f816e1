"""The console's two logs (移动端日志, 系统日志) read from the audit table: filtered by a date range
(Beijing days), a person (the login a record is about, or its actor) and a kind (one action),
newest first, one page at a time on the audit id (indexes (tenant_id, id), (tenant_id, action,
id), (tenant_id, subject, id), (tenant_id, actor, id), (tenant_id, at)); and the same rows for a
CSV export, read in chunks."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, AsyncIterator

from gateway.console.health import BEIJING
from gateway.platform.audit_kinds import actions_of, is_security, label
from gateway.storage import Row, Storage

PAGE_SIZE = 50
EXPORT_CHUNK = 1000
EXPORT_MAX = 100_000


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class LogQuery:
    log: str                 # mobile | system
    since: str = ""          # YYYY-MM-DD (Beijing), inclusive
    until: str = ""          # YYYY-MM-DD (Beijing), inclusive
    person: str = ""
    kind: str = ""           # one action of this log; "" = all
    before: int = 0          # the last id of the previous page; 0 = newest first

    @classmethod
    def of(cls, log: str, since: str, until: str, person: str, kind: str, before: str) -> "LogQuery":
        """From the page's query string; unusable values count as a filter left empty."""
        return cls(log, since if _day(since) else "", until if _day(until) else "", person.strip()[:64],
                   kind if kind in actions_of(log) else "",
                   int(before) if before.isdigit() and len(before) < 19 else 0)

    def bounds(self) -> tuple[float | None, float | None]:
        """The range as unix times: [start of `since`, start of the day after `until`)."""
        def start(day: date) -> float:
            return datetime(day.year, day.month, day.day, tzinfo=BEIJING).timestamp()
        since, until = _day(self.since) if self.since else None, _day(self.until) if self.until else None
        return (start(since) if since else None, start(until + timedelta(days=1)) if until else None)


def to_the_second(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def entry(row: Row) -> dict[str, Any]:
    detail = json.loads(row["detail"] or "{}")
    return {"id": int(row["id"]), "at": float(row["at"]), "actor": row["actor"], "action": row["action"],
            "label": label(row["action"]), "subject": row["subject"], "detail": detail,
            "security": is_security(row["action"], detail)}


class LogListing:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def _where(self, tenant_id: int, query: LogQuery) -> tuple[list[str], list[Any]]:
        actions = [query.kind] if query.kind else sorted(actions_of(query.log))
        where = ["tenant_id = ?", f"action IN ({', '.join('?' * len(actions))})"]
        args: list[Any] = [tenant_id, *actions]
        start, end = query.bounds()
        if start is not None:
            where.append("at >= ?")
            args.append(start)
        if end is not None:
            where.append("at < ?")
            args.append(end)
            # Ids grow with time: a record a minute past the end bounds the scan from above (the
            # minute covers processes whose clocks differ a little; `at < end` still decides).
            later = await self.storage.fetchval(
                "SELECT id FROM audit WHERE tenant_id = ? AND at >= ? ORDER BY at LIMIT 1", (tenant_id, end + 60.0))
            if later is not None:
                where.append("id < ?")
                args.append(int(later))
        if query.person:
            where.append("(subject = ? OR actor = ? OR actor = ?)")
            args += [query.person, query.person, "console:" + query.person]
        return where, args

    async def page(self, tenant_id: int, query: LogQuery, size: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], int | None]:
        where, args = await self._where(tenant_id, query)
        if query.before:
            where.append("id < ?")
            args.append(query.before)
        rows = await self.storage.fetchall(
            f"SELECT id, at, actor, action, subject, detail FROM audit WHERE {' AND '.join(where)}"
            " ORDER BY id DESC LIMIT ?", (*args, size + 1))
        more = len(rows) > size
        items = [entry(r) for r in rows[:size]]
        return items, (items[-1]["id"] if more and items else None)

    async def export(self, tenant_id: int, query: LogQuery) -> AsyncIterator[list[dict[str, Any]]]:
        """Every matching record, newest first, in chunks (at most EXPORT_MAX)."""
        before, sent = query.before, 0
        while sent < EXPORT_MAX:
            items, _ = await self.page(tenant_id, LogQuery(query.log, query.since, query.until, query.person,
                                                           query.kind, before), EXPORT_CHUNK)
            if not items:
                return
            yield items
            sent += len(items)
            before = items[-1]["id"]
