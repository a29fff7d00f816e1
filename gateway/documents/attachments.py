"""A document's attachments: the list's rules (at most 20 files of the business system, each
at most 20 MB, https only, http to private networks only where private targets are allowed),
their rows, and how a recipient sees them (name, size, type; never the business system's URL)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse

from gateway.platform.clock import Clock
from gateway.platform.errors import NotFound
from gateway.platform.links import DOC_ID_RE
from gateway.platform.phone_settings import retention_cutoff
from gateway.platform.tenant import Tenant
from gateway.platform.tenant_validation import is_private_host
from gateway.storage import Executor, Storage

MAX_ATTACHMENTS = 20
MAX_BYTES = 20 * 1024 * 1024
NAME_MAX = 200
URL_MAX = 2048
_MIME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
# Shown inside WeChat's browser rather than downloaded: images that cannot carry script, and PDF.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf"})
ATTACHMENT_KEYS = {"name", "url", "size", "content_type"}


@dataclass(frozen=True)
class Attachment:
    name: str
    url: str
    size: int
    content_type: str


def _url_problem(url: Any, allow_private: bool) -> str | None:
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        return f"must be an https URL of at most {URL_MAX} characters"
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        return "is not a valid URL"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "must be an https URL"
    if parsed.username is not None or parsed.password is not None:
        return "must not carry a user name or password"
    if parsed.scheme == "http" and not allow_private:
        return "must be https (http only to a private network, where private targets are allowed)"
    if not allow_private and is_private_host(parsed.hostname):
        return "points to a private or loopback address"
    return None


def _name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        return f"name must be a non-empty text of at most {NAME_MAX} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name) or "/" in name or "\\" in name:
        return "name must be a file name without control characters or slashes"
    return None


def parse_attachments(value: Any, allow_private: bool, problems: list[str]) -> list[Attachment]:
    """The body's `attachments` list, checked; each problem names the entry (attachments[3].url …)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        problems.append(f"attachments must be a list of at most {MAX_ATTACHMENTS} files")
        return []
    found: list[Attachment] = []
    for i, item in enumerate(value):
        where = f"attachments[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object {{name, url, size, content_type}}")
            continue
        before = len(problems)
        problems.extend(f"{where}.{key} is not a known field" for key in sorted(set(item) - ATTACHMENT_KEYS))
        problems.extend(f"{where}.{key} is required" for key in sorted(ATTACHMENT_KEYS - set(item)))
        name_problem = _name_problem(item.get("name")) if "name" in item else None
        if name_problem:
            problems.append(f"{where}.{name_problem}")
        url_problem = _url_problem(item.get("url"), allow_private) if "url" in item else None
        if url_problem:
            problems.append(f"{where}.url {url_problem}")
        size = item.get("size")
        if "size" in item and (not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_BYTES):
            problems.append(f"{where}.size must be a whole number of bytes from 0 to {MAX_BYTES} (20 MB)")
        kind = item.get("content_type")
        if "content_type" in item and (not isinstance(kind, str) or not _MIME_RE.match(kind)):
            problems.append(f"{where}.content_type must be a media type such as application/pdf")
        if len(problems) == before:
            assert isinstance(size, int)
            found.append(Attachment(item["name"].strip(), item["url"], size, str(kind).lower()))
    return found


def attachment_json(a: Attachment) -> dict[str, Any]:
    """As the tenant API shows it (the business system's own URL included)."""
    return {"name": a.name, "url": a.url, "size": a.size, "content_type": a.content_type}


def file_path(slug: str, doc_id: str, n: int) -> str:
    """Where a recipient fetches attachment `n` through the gateway."""
    return f"/wx/{slug}/doc/{quote(doc_id, safe='')}/files/{n}"


def file_kind(a: Attachment) -> str:
    """The icon family of a file: image, pdf, word, excel, ppt, archive, text or file."""
    ext = a.name.rsplit(".", 1)[-1].lower() if "." in a.name else ""
    kind = a.content_type
    if kind.startswith("image/"):
        return "image"
    if kind == "application/pdf" or ext == "pdf":
        return "pdf"
    if "word" in kind or ext in ("doc", "docx", "wps"):
        return "word"
    if "sheet" in kind or "excel" in kind or ext in ("xls", "xlsx", "csv", "et"):
        return "excel"
    if "presentation" in kind or "powerpoint" in kind or ext in ("ppt", "pptx", "dps"):
        return "ppt"
    if kind in ("application/zip", "application/x-7z-compressed", "application/x-rar-compressed",
                "application/gzip", "application/x-tar") or ext in ("zip", "rar", "7z", "gz", "tar"):
        return "archive"
    if kind.startswith("text/"):
        return "text"
    return "file"


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def recipient_json(slug: str, doc_id: str, n: int, a: Attachment) -> dict[str, Any]:
    """As a recipient's phone sees it: the gateway's own link (`href`), never the file's URL."""
    return {"n": n, "name": a.name, "size": a.size, "size_text": size_text(a.size), "content_type": a.content_type,
            "kind": file_kind(a), "href": file_path(slug, doc_id, n)}


async def save(tx: Executor, tenant_id: int, document_id: int, items: list[Attachment]) -> None:
    """Replace the document's list with `items` (every PUT carries the whole list)."""
    await tx.execute("DELETE FROM document_attachments WHERE document_id = ?", (document_id,))
    for n, a in enumerate(items):
        await tx.execute(
            "INSERT INTO document_attachments (tenant_id, document_id, position, name, url, size, content_type)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (tenant_id, document_id, n, a.name, a.url, a.size, a.content_type))


async def load(ex: Executor, tenant_id: int, document_id: int) -> list[Attachment]:
    rows = await ex.fetchall(
        "SELECT name, url, size, content_type FROM document_attachments WHERE tenant_id = ? AND document_id = ?"
        " ORDER BY position", (tenant_id, document_id))
    return [Attachment(str(r["name"]), str(r["url"]), int(r["size"]), str(r["content_type"])) for r in rows]


class DocumentFiles:
    """A document's attachments as its recipients reach them; anyone else is told there is no such
    document (404), whether it exists or not."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage, self.clock = storage, clock

    async def for_recipient(self, tenant: Tenant, doc_id: str, account_id: int) -> list[Attachment]:
        """The files of a document this account receives, open or closed within the retention period."""
        row = await self.storage.fetchone(
            "SELECT d.id FROM documents d JOIN document_recipients r ON r.document_id = d.id"
            " WHERE d.tenant_id = ? AND d.doc_id = ? AND r.tenant_id = ? AND r.account_id = ? AND r.active = 1"
            " AND (d.closed_at IS NULL OR d.closed_at >= ?)",
            (tenant.id, doc_id, tenant.id, account_id, retention_cutoff(tenant.phone, self.clock.now()))
        ) if DOC_ID_RE.match(doc_id) else None
        if row is None:
            raise NotFound("no such document", {"doc_id": doc_id})
        return await load(self.storage, tenant.id, int(row["id"]))

    async def phone_view(self, tenant: Tenant, doc_id: str, account_id: int) -> list[dict[str, Any]]:
        """The list as the recipient's phone shows it (gateway links, no business-system URL)."""
        listed = await self.for_recipient(tenant, doc_id, account_id)
        return [recipient_json(tenant.slug, doc_id, n, a) for n, a in enumerate(listed)]
