"""The phone's JSON for documents: the inbox, the history, one document as its recipient sees it,
an approver's decision and a recipient's comment (session cookie + XSRF token)."""
from __future__ import annotations

from gateway.platform.pagination import parse_page
from handlers.base import DOC, SLUG
from handlers.session import SessionHandler


class InboxHandler(SessionHandler):
    route_name = "mobile"

    async def get(self, slug: str) -> None:
        session = await self.require_session(slug)
        me = await self.gw.accounts.me(session.tenant, session)
        documents = await self.gw.recipient_view.inbox(session.tenant, session.account_id)
        self.write_json({"account": me["account"], "documents": documents})


class HistoryHandler(SessionHandler):
    route_name = "mobile"

    async def get(self, slug: str) -> None:
        session = await self.require_session(slug)
        page = parse_page(self.get_query_argument("after", None), self.get_query_argument("limit", None))
        self.write_json(await self.gw.recipient_view.history(session.tenant, session.account_id, page))


class MobileDocumentHandler(SessionHandler):
    route_name = "mobile"

    async def get(self, slug: str, doc_id: str) -> None:
        session = await self.require_session(slug)
        view = await self.gw.recipient_view.document(session.tenant, doc_id, session.account_id)
        view["attachments"] = await self.gw.document_files.phone_view(session.tenant, doc_id, session.account_id)
        self.write_json(view)


class DecisionHandler(SessionHandler):
    route_name = "mobile"

    async def post(self, slug: str, doc_id: str) -> None:
        session = await self.require_session(slug)
        await self.gw.documents.decide(session.tenant, doc_id, session.account_id, session.login, self.json_body())
        self.write_json(await self.gw.recipient_view.document(session.tenant, doc_id, session.account_id))


class CommentHandler(SessionHandler):
    route_name = "mobile"

    async def post(self, slug: str, doc_id: str) -> None:
        session = await self.require_session(slug)
        comment = await self.gw.comments.add(session.tenant, doc_id, session.account_id, session.login,
                                             self.json_body())
        self.write_json(comment, status=201)


ROUTES = [
    (rf"/wx/{SLUG}/api/inbox", InboxHandler),
    (rf"/wx/{SLUG}/api/history", HistoryHandler),
    (rf"/wx/{SLUG}/api/documents/{DOC}", MobileDocumentHandler),
    (rf"/wx/{SLUG}/api/documents/{DOC}/decision", DecisionHandler),
    (rf"/wx/{SLUG}/api/documents/{DOC}/comments", CommentHandler),
]
