"""The phone's JSON for documents: the inbox, one document as its recipient sees it, and an
approver's decision (session cookie + XSRF token)."""
from __future__ import annotations

from handlers.base import DOC, SLUG
from handlers.session import SessionHandler


class InboxHandler(SessionHandler):
    route_name = "mobile"

    async def get(self, slug: str) -> None:
        session = await self.require_session(slug)
        me = await self.gw.accounts.me(session.tenant, session)
        documents = await self.gw.documents.inbox(session.tenant, session.account_id)
        self.write_json({"account": me["account"], "documents": documents})


class MobileDocumentHandler(SessionHandler):
    route_name = "mobile"

    async def get(self, slug: str, doc_id: str) -> None:
        session = await self.require_session(slug)
        view = await self.gw.documents.for_recipient(session.tenant, doc_id, session.account_id)
        view["attachments"] = await self.gw.document_files.phone_view(session.tenant, doc_id, session.account_id)
        self.write_json(view)


class DecisionHandler(SessionHandler):
    route_name = "mobile"

    async def post(self, slug: str, doc_id: str) -> None:
        session = await self.require_session(slug)
        self.write_json(await self.gw.documents.decide(
            session.tenant, doc_id, session.account_id, session.login, self.json_body()))


ROUTES = [
    (rf"/wx/{SLUG}/api/inbox", InboxHandler),
    (rf"/wx/{SLUG}/api/documents/{DOC}", MobileDocumentHandler),
    (rf"/wx/{SLUG}/api/documents/{DOC}/decision", DecisionHandler),
]
