"""Documents as their recipients see them on the phone: the inbox, one document with its people by
name and its timeline of decisions and comments, and the history of what they handled. Closed
documents stay readable for the tenant's retention period; times are in the tenant's time zone."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.documents.hints import hints_for
from gateway.documents.names import display_names
from gateway.documents.recipients import PeopleDirectory
from gateway.platform.clock import Clock
from gateway.platform.errors import Invalid, NotFound
from gateway.platform.links import DOC_ID_RE
from gateway.platform.pagination import Page, page_result
from gateway.platform.phone_settings import local_iso, local_text_iso, retention_cutoff
from gateway.platform.tenant import Tenant
from gateway.storage import Executor, Row, Storage



@dataclass
class Opened:
    """A document one of its recipients may read: the row, its active recipient rows, theirs."""
    doc: Row
    rows: list[Row]
    mine: list[Row]

    @property
    def approver(self) -> Row | None:
        return next((r for r in self.mine if r["role"] == "approver"), None)

    @property
    def role(self) -> str:
        return "approver" if self.approver is not None else "cc"


async def open_for(ex: Executor, storage: Storage, tenant: Tenant, doc_id: str, account_id: int, now: float,
                   lock: bool = False) -> Opened:
    """The document if this account is one of its recipients and it is open or still kept; else 404."""
    doc = None
    if DOC_ID_RE.match(doc_id):
        doc = await ex.fetchone("SELECT * FROM documents WHERE tenant_id = ? AND doc_id = ?"
                                + (storage.for_update if lock else ""), (tenant.id, doc_id))
    rows = await ex.fetchall("SELECT * FROM document_recipients WHERE document_id = ? AND active = 1 ORDER BY id",
                             (doc["id"],)) if doc else []
    mine = [r for r in rows if r["account_id"] == account_id]
    if doc is None or not mine or (doc["closed_at"] is not None and doc["closed_at"] < retention_cutoff(tenant.phone, now)):
        raise NotFound("no such document", {"doc_id": doc_id})
    return Opened(doc, rows, mine)


def my_state(doc: Row, approver: Row | None) -> str:
    """What this recipient's page says of the document: the final state once closed, `decided` for an
    approver who has decided while others still decide, `waiting` for one who has not, else `open`."""
    if doc["status"] != "open":
        return str(doc["status"])
    if approver is None:
        return "open"
    return "decided" if approver["decision"] else "waiting"


class RecipientView:
    def __init__(self, storage: Storage, clock: Clock, people: PeopleDirectory) -> None:
        self.storage, self.clock, self.people = storage, clock, people

    async def document(self, tenant: Tenant, doc_id: str, account_id: int) -> dict[str, Any]:
        """The document as one of its recipients sees it; 404 for anyone else and once it is gone."""
        opened = await open_for(self.storage, self.storage, tenant, doc_id, account_id, self.clock.now())
        doc, zone = opened.doc, tenant.time_zone
        comments = await self.storage.fetchall(
            "SELECT * FROM document_comments WHERE document_id = ? ORDER BY id", (doc["id"],))
        logins = [r["login"] for r in opened.rows] + [c["login"] for c in comments]
        found = await self.people.recipients(tenant, list(dict.fromkeys([*logins, doc["applicant"]])))
        known = {login: who.name for login, who in found.items() if who.status is not None}
        names = {login: known.get(login) or login for login in logins}
        for c in comments:  # a comment of an account deleted since keeps the name it was written with
            names[c["login"]] = known.get(c["login"]) or c["name"] or c["login"]
        applicant = doc["applicant"]
        if applicant in known:
            names[applicant] = known[applicant]
        shown = display_names(names)
        rows = sorted(opened.rows, key=lambda r: (r["role"] != "approver", r["id"]))
        recipients = [{"login": r["login"], "name": names[r["login"]], "display": shown[r["login"]],
                       "role": r["role"], "decision": r["decision"], "comment": r["comment"],
                       "decided_at": local_iso(r["decided_at"], zone)} for r in rows]
        timeline = [({"kind": "decision", "login": r["login"], "name": names[r["login"]],
                      "display": shown[r["login"]], "role": r["role"], "decision": r["decision"],
                      "comment": r["comment"] or "", "at": local_iso(r["decided_at"], zone)}, r["decided_at"], 0, r["id"])
                    for r in opened.rows if r["decided_at"] is not None]
        timeline += [({"kind": "comment", "login": c["login"], "name": names[c["login"]],
                       "display": shown[c["login"]], "role": c["role"], "decision": None,
                       "comment": c["comment"], "at": local_iso(c["created_at"], zone)}, c["created_at"], 1, c["id"])
                     for c in comments]
        timeline.sort(key=lambda entry: entry[1:])
        approver = opened.approver
        return {
            "id": doc["doc_id"], "type": doc["type"], "title": doc["title"], "summary": doc["summary"],
            "applicant": applicant, "applicant_name": shown.get(applicant, applicant),
            "submitted_at": local_text_iso(doc["submitted_at"], zone), "fields": json.loads(doc["fields"]),
            "status": doc["status"], "created_at": local_iso(doc["created_at"], zone),
            "updated_at": local_iso(doc["updated_at"], zone), "closed_at": local_iso(doc["closed_at"], zone),
            "recipients": recipients, "timeline": [entry[0] for entry in timeline],
            "my_role": opened.role, "my_state": my_state(doc, approver),
            "can_decide": bool(approver and approver["decision"] is None and doc["status"] == "open"),
            "can_comment": doc["status"] == "open", "hints": hints_for(doc["type"]), "time_zone": zone}

    async def inbox(self, tenant: Tenant, account_id: int) -> list[dict[str, Any]]:
        """Open documents of this account: approvals still waiting, then decided ones, then copies."""
        rows = await self.storage.fetchall(
            "SELECT d.doc_id, d.type, d.title, d.applicant, d.created_at, r.role, r.decision FROM document_recipients r"
            " JOIN documents d ON d.id = r.document_id WHERE r.tenant_id = ? AND r.account_id = ? AND r.active = 1"
            " AND d.status = 'open' ORDER BY d.created_at DESC, d.id DESC", (tenant.id, account_id))
        items: dict[str, dict[str, Any]] = {}
        for r in rows:
            status = "cc" if r["role"] == "cc" else ("decided" if r["decision"] else "waiting")
            if r["doc_id"] in items and items[r["doc_id"]]["role"] == "approver":
                continue  # an approver who is also copied sees the document once, as approver
            items[r["doc_id"]] = {"id": r["doc_id"], "type": r["type"], "title": r["title"], "role": r["role"],
                                  "status": status, "created_at": local_iso(r["created_at"], tenant.time_zone),
                                  "applicant": r["applicant"]}
        names = await self._applicant_names(tenant, [item["applicant"] for item in items.values()])
        for item in items.values():
            item["applicant_name"] = names.get(item["applicant"], item["applicant"])
        order = {"waiting": 0, "decided": 1, "cc": 2}
        return sorted(items.values(), key=lambda item: order[item["status"]])

    async def _applicant_names(self, tenant: Tenant, applicants: list[str]) -> dict[str, str]:
        """Applicants that are logins of the tenant, by their names (one directory query)."""
        if not applicants:
            return {}
        found = await self.people.recipients(tenant, list(dict.fromkeys(applicants)))
        return {login: who.name for login, who in found.items() if who.status is not None and who.name}

    async def history(self, tenant: Tenant, account_id: int, page: Page) -> dict[str, Any]:
        """What this account handled (decided or commented on) and every closed document it received
        that is still kept, newest document first, paged on the document (`after` is a doc id)."""
        before = None
        if page.after is not None:
            before = await self.storage.fetchval("SELECT id FROM documents WHERE tenant_id = ? AND doc_id = ?",
                                                 (tenant.id, page.after))
            if before is None:
                raise Invalid("after must be a document id from a previous page", {"field": "after"})
        now = self.clock.now()
        # An account holds at most two rows of a document (approver and cc): twice the page finds enough.
        # Ordered on the index alone (no sort by role), so a page reads only the rows it returns.
        rows = await self.storage.fetchall(
            "SELECT r.document_id, r.role, r.decision, r.decided_at, d.doc_id, d.type, d.title, d.status,"
            " d.closed_at, (SELECT MAX(c.created_at) FROM document_comments c WHERE c.tenant_id = r.tenant_id"
            " AND c.account_id = r.account_id AND c.document_id = r.document_id) AS commented_at"
            " FROM document_recipients r JOIN documents d ON d.id = r.document_id"
            " WHERE r.tenant_id = ? AND r.account_id = ? AND r.active = 1 AND r.document_id < ?"
            " AND (d.closed_at IS NULL OR d.closed_at >= ?)"
            " AND (r.decision IS NOT NULL OR d.status <> 'open' OR (SELECT 1 FROM document_comments c"
            " WHERE c.tenant_id = r.tenant_id AND c.account_id = r.account_id AND c.document_id = r.document_id"
            " LIMIT 1) IS NOT NULL)"
            " ORDER BY r.document_id DESC LIMIT ?",
            (tenant.id, account_id, before if before is not None else 2 ** 62, retention_cutoff(tenant.phone, now),
             2 * (page.limit + 1)))
        zone = tenant.time_zone
        items: dict[int, dict[str, Any]] = {}
        for r in rows:  # a document's approver row is the one to show (a cut-off last one only says "more")
            if r["document_id"] in items and r["role"] != "approver":
                continue
            items[r["document_id"]] = {
                "id": r["doc_id"], "type": r["type"], "title": r["title"], "role": r["role"],
                "my_decision": r["decision"], "decided_at": local_iso(r["decided_at"], zone),
                "commented": r["commented_at"] is not None, "commented_at": local_iso(r["commented_at"], zone),
                "status": r["status"], "closed_at": local_iso(r["closed_at"], zone)}
        return page_result(list(items.values()), page)
