"""Comments of a document's recipients (approvers and CC alike) while it is open: stored, emitted
as `document.commented` (feed and webhook) with the author's login and name, and audited."""
from __future__ import annotations

from typing import Any

from gateway.documents.recipient_view import open_for
from gateway.documents.recipients import PeopleDirectory, Wakeup
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock, iso
from gateway.platform.errors import Conflict, Invalid
from gateway.platform.events import EventLog
from gateway.platform.phone_settings import local_iso
from gateway.platform.tenant import Tenant
from gateway.storage import Storage

COMMENT_MAX = 500


def parse_comment(body: Any) -> str:
    if not isinstance(body, dict) or set(body) != {"comment"} or not isinstance(body["comment"], str):
        raise Invalid('the body must be {"comment": "…"}', {"field": "comment"})
    text = body["comment"].strip()
    if not 1 <= len(text) <= COMMENT_MAX:
        raise Invalid(f"comment must be 1 to {COMMENT_MAX} characters", {"field": "comment", "max": COMMENT_MAX})
    return text


class Comments:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, events: EventLog, people: PeopleDirectory,
                 workers: Wakeup) -> None:
        self.storage, self.clock, self.audit, self.events = storage, clock, audit, events
        self.people, self.workers = people, workers

    async def add(self, tenant: Tenant, doc_id: str, account_id: int, login: str, body: Any) -> dict[str, Any]:
        """Add one comment; 404 to anyone not a recipient, 409 once the document is closed."""
        text = parse_comment(body)
        who = await self.people.recipient(tenant, login)
        name = who.name or login
        comment = await self.storage.retrying(lambda: self._add_once(tenant, doc_id, account_id, login, name, text))
        self.workers.wake_webhooks()
        return comment

    async def _add_once(self, tenant: Tenant, doc_id: str, account_id: int, login: str, name: str,
                        text: str) -> dict[str, Any]:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            # The document's row lock orders a comment against a close.
            opened = await open_for(tx, self.storage, tenant, doc_id, account_id, now, lock=True)
            if opened.doc["status"] != "open":
                raise Conflict("the document is closed", {"status": opened.doc["status"]})
            row_login = opened.mine[0]["login"]
            inserted = await tx.execute(
                "INSERT INTO document_comments (tenant_id, document_id, account_id, login, name, role, comment,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant.id, opened.doc["id"], account_id, row_login, name, opened.role, text, now))
            data = {"doc_id": doc_id, "login": row_login, "name": name, "role": opened.role, "comment": text,
                    "commented_at": iso(now)}
            await self.events.emit(tenant, "document.commented", data, ex=tx)
            await self.audit.record(tenant.id, login, "document.commented", doc_id, {"role": opened.role}, ex=tx)
        return {"id": inserted.lastrowid, **data, "commented_at": local_iso(now, tenant.time_zone)}
