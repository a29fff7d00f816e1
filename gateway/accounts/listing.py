"""The console's view of a tenant's accounts: search by the start of the login, name or position,
filter by kind and status (active, pending, departed, locked, bound, never signed in), one page
at a time on the account id (indexed: (tenant_id, id), (tenant_id, status, id), and for the
search (tenant_id, login_key), (tenant_id, name, id), (tenant_id, position, id))."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.accounts.rules import KINDS, normalise_login
from gateway.platform.clock import Clock
from gateway.storage import Row, Storage

STATUSES = ("active", "pending", "departed", "locked", "bound", "never")
PAGE_SIZE = 50
# A search first reads the matching ids from each column's index, at most this many per column;
# past that the matches are so many that walking the tenant's accounts in id order finds a page
# of them quickly.
SEARCH_CANDIDATES = 1000
_TOP = "\U0010ffff"  # above every character: [text, text + _TOP) holds the strings starting with text

_SELECT = ("SELECT a.id, a.login, a.name, a.kind, a.position, a.status, a.locked_until, a.created_at,"
           " b.created_at AS bound_at, s.last_at, w.wechat_id FROM accounts a"
           " LEFT JOIN bindings b ON b.tenant_id = a.tenant_id AND b.active_account = a.id"
           " LEFT JOIN account_sign_ins s ON s.tenant_id = a.tenant_id AND s.account_id = a.id"
           " LEFT JOIN account_wechat_ids w ON w.tenant_id = a.tenant_id AND w.account_id = a.id")


@dataclass(frozen=True)
class AccountQuery:
    text: str = ""
    kind: str = ""      # "" = every kind
    status: str = ""    # "" = every status
    after: int = 0      # the last id of the previous page

    @classmethod
    def of(cls, text: str, kind: str, status: str, after: str) -> "AccountQuery":
        """From the page's query string; unknown values are ignored, as a filter left empty."""
        return cls(text.strip()[:64], kind if kind in KINDS else "", status if status in STATUSES else "",
                   int(after) if after.isdigit() and len(after) < 19 else 0)


class AccountListing:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def page(self, tenant_id: int, query: AccountQuery, size: int = PAGE_SIZE) -> tuple[list[Row], int | None]:
        """One page of accounts by id, and the id to continue after (None on the last page)."""
        where: list[str] = ["a.tenant_id = ?", "a.id > ?"]
        args: list[Any] = [tenant_id, query.after]
        if query.kind:
            where.append("a.kind = ?")
            args.append(query.kind)
        if query.status in ("active", "pending", "departed"):
            where.append("a.status = ?")
            args.append(query.status)
        elif query.status == "locked":
            where.append("a.locked_until > ?")
            args.append(self.clock.now())
        elif query.status == "bound":
            where.append("b.id IS NOT NULL")
        elif query.status == "never":
            where.append("s.last_at IS NULL")
        if query.text:
            candidates = await self._search(tenant_id, query)
            if candidates is None:
                where.append("(" + " OR ".join(f"(a.{column} >= ? AND a.{column} < ?)"
                                               for column, _ in self._prefixes(query.text)) + ")")
                args += [v for _, text in self._prefixes(query.text) for v in (text, text + _TOP)]
            elif not candidates:
                return [], None
            else:
                where.append(f"a.id IN ({', '.join('?' * len(candidates))})")
                args += candidates
        rows = await self.storage.fetchall(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY a.id LIMIT ?", (*args, size + 1))
        more = len(rows) > size
        rows = rows[:size]
        return rows, (int(rows[-1]["id"]) if more and rows else None)

    @staticmethod
    def _prefixes(text: str) -> list[tuple[str, str]]:
        return [("login_key", normalise_login(text)), ("name", text), ("position", text)]

    async def _search(self, tenant_id: int, query: AccountQuery) -> list[int] | None:
        """Ids after `query.after` of accounts whose login, name or position starts with the text,
        each read by a range of that column's index; None when a column matches too many."""
        found: set[int] = set()
        for column, text in self._prefixes(query.text):
            if not text:
                continue
            rows = await self.storage.fetchall(
                f"SELECT id FROM accounts WHERE tenant_id = ? AND {column} >= ? AND {column} < ? AND id > ? LIMIT ?",
                (tenant_id, text, text + _TOP, query.after, SEARCH_CANDIDATES + 1))
            if len(rows) > SEARCH_CANDIDATES:
                return None
            found.update(int(r["id"]) for r in rows)
        return sorted(found)

    async def pending(self, tenant_id: int, after: int, size: int = PAGE_SIZE) -> tuple[list[Row], int | None]:
        return await self.page(tenant_id, AccountQuery(status="pending", after=after), size)
