"""Reads `?after=` and `?limit=` the way every collection of the contract does."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.platform.errors import Invalid

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page:
    after: str | None
    limit: int

    def after_int(self) -> int:
        if self.after is None:
            return 0
        try:
            return int(self.after.removeprefix("evt_"))
        except ValueError:
            raise Invalid("after must be an id from a previous page", {"field": "after"}) from None


def parse_page(after: str | None, limit: str | None) -> Page:
    if limit is None or limit == "":
        size = DEFAULT_LIMIT
    else:
        # int() alone would also take "1_000", " 7" and non-ASCII digits.
        try:
            if not re.fullmatch(r"-?[0-9]+", limit):
                raise ValueError
            size = int(limit)
        except ValueError:  # also a number too long for int()
            raise Invalid("limit must be a whole number", {"field": "limit"}) from None
        if size < 1:
            raise Invalid("limit must be at least 1", {"field": "limit"})
    return Page(after or None, min(size, MAX_LIMIT))


def page_result(items: list[dict[str, Any]], page: Page, key: str = "id") -> dict[str, Any]:
    """Callers fetch limit+1 rows; the extra one tells whether there is a next page."""
    more = len(items) > page.limit
    items = items[: page.limit]
    return {"items": items, "next_after": items[-1][key] if more and items else None}
