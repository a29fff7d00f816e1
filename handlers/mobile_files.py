"""A document's attachments on the phone: `/wx/{slug}/doc/{doc_id}/files/{n}` relays the file
from the business system to one of the document's recipients (404 to anyone else), under the
type the tenant listed, never revealing where it came from."""
from __future__ import annotations

import logging
from urllib.parse import quote

import tornado.web

from gateway.documents.attachment_fetch import FetchCut, FetchFailed
from gateway.documents.attachments import INLINE_TYPES, Attachment
from gateway.platform.errors import NotFound
from gateway.platform.links import entry_path, page_path
from handlers.base import DOC, SLUG
from handlers.error_pages import render_error
from handlers.pages import PageHandler

log = logging.getLogger("gateway.attachments")
# A file shown as a document of its own: no script of it may run on the gateway's origin. PDF goes
# without the sandbox: browsers refuse to start their PDF viewer in a sandboxed document (the
# viewer runs apart from the page's origin anyway).
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "


def content_disposition(a: Attachment) -> str:
    """inline for images and PDF (WeChat's browser shows them), else attachment; the name in
    RFC 5987 form (UTF-8, percent-encoded) with an ASCII fallback."""
    disposition = "inline" if a.content_type in INLINE_TYPES else "attachment"
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in a.name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(a.name, safe='')}"


class AttachmentHandler(PageHandler):
    route_name = "mobile_files"
    attachment: Attachment | None = None

    async def get(self, slug: str, doc_id: str, n: str) -> None:
        tenant = self.gw.registry.get(slug)
        if tenant is None:
            raise tornado.web.HTTPError(404)
        doc_page = page_path(slug, f"doc/{doc_id}")
        session = await self.current_session(slug)
        try:
            if session is None or session.must_change_password:
                raise NotFound("no such document")
            listed = await self.gw.document_files.for_recipient(tenant, doc_id, session.account_id)
            if int(n) >= len(listed):
                raise NotFound("no such attachment")
        except NotFound:
            # The same page for a stranger, another tenant's session and a missing file.
            render_error(self, 404, "document", link=entry_path(slug, f"doc/{doc_id}"))
            return
        self.attachment = listed[int(n)]
        try:
            await self.gw.attachment_fetcher.stream(self.attachment.url, self)
        except FetchFailed as failed:
            log.warning("attachment %s of %s/%s not relayed: %s", n, slug, doc_id, failed.reason)
            kind = {413: "file_too_large", 504: "file_timeout"}.get(failed.status, "file_unavailable")
            render_error(self, failed.status, kind, link=doc_page)
            return
        except FetchCut as cut:
            log.warning("attachment %s of %s/%s cut off: %s", n, slug, doc_id, cut)
            # Closing without the end of the body: the phone sees a broken download, never a
            # shorter file that looks whole.
            stream = self.detach()
            if stream is not None:  # None when the phone had already gone
                stream.close()
            self._leave_inflight()
            return
        self.finish()

    # ---- the FileSink the fetcher writes to -------------------------------------------------
    def begin(self, length: int | None, encoding: str | None) -> None:
        assert self.attachment is not None
        self.clear_header("Content-Security-Policy")
        self.set_header("Content-Type", self.attachment.content_type)
        self.set_header("Content-Disposition", content_disposition(self.attachment))
        # Framed only where the phone pages may be ([server] frame_ancestors), like them.
        ancestors = "frame-ancestors " + (" ".join(self.gw.settings.server.frame_ancestors) or "'none'")
        pdf = self.attachment.content_type == "application/pdf"
        self.set_header("Content-Security-Policy", ancestors if pdf else FILE_CSP + ancestors)
        self.set_header("Cache-Control", "private, no-store")
        if length is not None:
            self.set_header("Content-Length", str(length))
        if encoding is not None:
            self.set_header("Content-Encoding", encoding)

    async def send(self, chunk: bytes) -> None:
        self.write(chunk)
        await self.flush()


ROUTES = [
    (rf"/wx/{SLUG}/doc/{DOC}/files/(?P<n>[0-9]{{1,2}})", AttachmentHandler),
]
