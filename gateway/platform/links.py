"""The URLs of a tenant's WeChat pages, built in one place: the entry point that menus,
notifications and replies link to (OAuth first), the pages behind it, and which `next` pages
the entry point accepts."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

# A document id as the tenant API accepts it (also what a menu's entry:doc/<id> may name).
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Pages of the tenant the entry point may lead to; anything else falls back to the inbox.
_NEXT_RE = re.compile(r"^(inbox|password|register|doc/[^/?#\\\s.][^/?#\\\s]{0,127}|bind/[A-Za-z0-9_-]{32})$")


def clean_next(raw: Any) -> str:
    """A page of the tenant (`inbox`, `password`, `register`, `doc/<id>`, `bind/<token>` of a scanned
    bind QR code); anything else is `inbox`."""
    return raw if isinstance(raw, str) and _NEXT_RE.match(raw) else "inbox"


def entry_path(slug: str, next_page: str = "inbox") -> str:
    """/wx/{slug}/entry?next=<page>: the one spelling of the entry URL (`/` left as is)."""
    return f"/wx/{slug}/entry?next={quote(next_page, safe='/')}"


def entry_url(public_url: str, slug: str, next_page: str = "inbox") -> str:
    return public_url + entry_path(slug, next_page)


def page_path(slug: str, next_page: str) -> str:
    """The path of a tenant page named by a (cleaned) `next` value."""
    return f"/wx/{slug}/" + quote(clean_next(next_page), safe="/")


def document_next(doc_id: str) -> str:
    return f"doc/{quote(doc_id, safe='')}"


def login_path(slug: str, next_page: str = "inbox") -> str:
    """The sign-in (binding) page, with the page to open once signed in."""
    return f"/wx/{slug}/login?next={quote(next_page, safe='/')}"
