"""Documents of a tenant with their approvers and CC recipients: idempotent upsert that queues
each (document, recipient, role) notification once, decisions, closing, the 待办 count. What a
recipient sees on the phone is recipient_view.py."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from gateway.documents import attachments as files
from gateway.documents.attachments import Attachment, parse_attachments
from gateway.documents.outbox import Outbox
from gateway.documents.recipient_view import open_for
from gateway.documents.recipients import PeopleDirectory, Person, Wakeup
from gateway.documents.waiting import WaitingNotices
from gateway.platform.audit import AuditLog
from gateway.platform.clock import Clock, iso
from gateway.platform.events import EventLog
from gateway.platform.links import DOC_ID_RE
from gateway.platform.errors import Conflict, Invalid, NotFound
from gateway.storage import DuplicateKey, Executor, Row, Storage, StorageError, TransientConflict
from gateway.platform.tenant import Tenant


LOGIN_MAX = 64
BODY_KEYS = {"type", "title", "summary", "applicant", "submitted_at", "fields", "approvers", "cc", "attachments"}
CLOSED = ("approved", "rejected", "withdrawn")
DECISIONS = ("approve", "reject")
COMMENT_MAX = 500
# The only deliveries a later PUT queues again: no send reached WeChat for them. Any other
# (a failure, or a timeout WeChat may have accepted) could repeat a message long after WeChat's
# client_msg_id window, so "already_notified" it stays.
REQUEUE = ("unbound", "failed:removed", "failed:no_template")


@dataclass(frozen=True)
class DocumentInput:
    type: str
    title: str
    summary: str
    applicant: str
    submitted_at: str
    fields: list[dict[str, str]]
    approvers: list[str]
    cc: list[str]
    attachments: tuple[Attachment, ...] = ()


def _text(body: dict[str, Any], key: str, limit: int, problems: list[str], required: bool = True) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        problems.append(f"{key} must be {'a non-empty' if required else 'a'} text of at most {limit} characters")
        return ""
    return value


def _logins(body: dict[str, Any], key: str, problems: list[str]) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or len(value) > 5000 or not all(
            isinstance(v, str) and 0 < len(v) <= LOGIN_MAX for v in value):
        problems.append(f"{key} must be a list of logins")
        return []
    return list(dict.fromkeys(value))


def parse_document(doc_id: str, body: Any, allow_private: bool = False) -> DocumentInput:
    """Check a PUT body; every problem is named (unknown fields too) in one 400."""
    problems: list[str] = []
    if not DOC_ID_RE.match(doc_id):
        problems.append("doc_id must be 1 to 64 letters, digits, '.', '_' or '-'")
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    problems.extend(f"{key} is not a known field" for key in sorted(set(body) - BODY_KEYS))
    kind = _text(body, "type", 64, problems)
    title = _text(body, "title", 200, problems)
    summary = _text(body, "summary", 2000, problems, required=False)
    applicant = _text(body, "applicant", 100, problems)
    submitted_at = _text(body, "submitted_at", 64, problems)
    if submitted_at:
        try:
            if datetime.fromisoformat(submitted_at).tzinfo is None:
                problems.append("submitted_at must carry a zone offset")
        except ValueError:
            problems.append("submitted_at must be an ISO 8601 time with a zone offset")
    fields = body.get("fields", [])
    if not isinstance(fields, list) or len(fields) > 100 or not all(
            isinstance(f, dict) and set(f) == {"label", "value"} and isinstance(f["label"], str)
            and isinstance(f["value"], str) and len(f["label"]) <= 100 and len(f["value"]) <= 2000
            for f in fields):
        problems.append("fields must be a list of at most 100 {label, value} texts")
        fields = []
    approvers, cc = _logins(body, "approvers", problems), _logins(body, "cc", problems)
    attached = parse_attachments(body.get("attachments"), allow_private, problems)
    if problems:
        raise Invalid("the document is not valid", {"problems": problems})
    return DocumentInput(kind, title, summary, applicant, submitted_at,
                         [{"label": f["label"], "value": f["value"]} for f in fields], approvers, cc,
                         tuple(attached))


def document_view(row: Row) -> dict[str, Any]:
    return {"id": row["doc_id"], "type": row["type"], "title": row["title"], "summary": row["summary"],
            "applicant": row["applicant"], "submitted_at": row["submitted_at"], "fields": json.loads(row["fields"]),
            "status": row["status"], "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
            "closed_at": iso(row["closed_at"])}


def _decision_view(r: Row) -> dict[str, Any]:
    return {"login": r["login"], "role": r["role"], "decision": r["decision"], "comment": r["comment"],
            "decided_at": iso(r["decided_at"])}


def _retryable(exc: StorageError) -> bool:
    return isinstance(exc, (DuplicateKey, TransientConflict))


class DocumentService:
    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog, events: EventLog, outbox: Outbox,
                 people: PeopleDirectory, workers: Wakeup, waiting: WaitingNotices,
                 allow_private_files: bool = False) -> None:
        self.storage, self.clock, self.audit, self.events = storage, clock, audit, events
        self.outbox, self.people, self.workers, self.waiting = outbox, people, workers, waiting
        self.allow_private_files = allow_private_files  # attachments on private networks ([security])

    async def _doc(self, ex: Executor, tenant: Tenant, doc_id: str, lock: bool = False) -> Row | None:
        return await ex.fetchone("SELECT * FROM documents WHERE tenant_id = ? AND doc_id = ?"
                                 + (self.storage.for_update if lock else ""), (tenant.id, doc_id))

    async def _require(self, ex: Executor, tenant: Tenant, doc_id: str, lock: bool = False) -> Row:
        doc = await self._doc(ex, tenant, doc_id, lock)
        if doc is None:
            raise NotFound("no such document", {"doc_id": doc_id})
        return doc

    async def _recipient_rows(self, ex: Executor, document_id: int) -> list[Row]:
        return await ex.fetchall("SELECT * FROM document_recipients WHERE document_id = ? ORDER BY id",
                                 (document_id,))

    # ---- tenant API --------------------------------------------------------------------------------
    async def put(self, tenant: Tenant, doc_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Create or update; returns ({"document", "notifications"}, created)."""
        doc = parse_document(doc_id, body, self.allow_private_files)
        logins = list(dict.fromkeys(doc.approvers + doc.cc))
        found = await self.people.recipients(tenant, logins) if logins else {}
        for attempt in (1, 2, 3):
            try:
                result = await self._put_once(tenant, doc_id, doc, found)
                break
            except StorageError as exc:  # a concurrent first PUT of the same document, or a deadlock
                if attempt == 3 or not _retryable(exc):
                    raise
        self.workers.wake()
        await self._bound_meanwhile(tenant, result[0]["notifications"])
        return result

    async def _bound_meanwhile(self, tenant: Tenant, notifications: list[dict[str, str]]) -> None:
        """An account that bound between the directory lookup and this PUT's commit found no
        `unbound` row to release: look again, and release it here (the guard makes it once)."""
        waiting = [n["login"] for n in notifications if n["status"] == "unbound"]
        if not waiting:
            return
        for who in (await self.people.recipients(tenant, waiting)).values():
            if who.status == "active" and who.openid and who.account_id is not None:
                await self.waiting.release(tenant, who.account_id)

    async def _put_once(self, tenant: Tenant, doc_id: str, doc: DocumentInput,
                        found: Mapping[str, Person]) -> tuple[dict[str, Any], bool]:
        now = self.clock.now()
        values = (doc.type, doc.title, doc.summary, doc.applicant, doc.submitted_at,
                  json.dumps(doc.fields, ensure_ascii=False))
        notifications: list[dict[str, str]] = []
        async with self.storage.transaction() as tx:
            row = await self._doc(tx, tenant, doc_id, lock=True)
            created = row is None
            if row is None:
                inserted = await tx.execute(
                    "INSERT INTO documents (tenant_id, doc_id, type, title, summary, applicant, submitted_at,"
                    " fields, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                    (tenant.id, doc_id, *values, now, now))
                document_id = inserted.lastrowid
            elif row["status"] != "open":
                raise Conflict("the document is closed", {"status": row["status"]})
            else:
                document_id = row["id"]
                await tx.execute("UPDATE documents SET type = ?, title = ?, summary = ?, applicant = ?,"
                                 " submitted_at = ?, fields = ?, updated_at = ? WHERE id = ?",
                                 (*values, now, document_id))
            assert document_id is not None
            await files.save(tx, tenant.id, document_id, list(doc.attachments))
            existing = {(r["login"], r["role"]): r for r in await self._recipient_rows(tx, document_id)}
            wanted: set[tuple[str, str]] = set()
            for login, role in [(x, "approver") for x in doc.approvers] + [(x, "cc") for x in doc.cc]:
                who = found.get(login)
                # Rows hold the account's own spelling of the login, whatever case the PUT used.
                key = (who.login if who is not None and who.status else login, role)
                status = "already_notified" if key in wanted else await self._notify(
                    tx, tenant, document_id, key[0], role, existing.get(key), who, now)
                wanted.add(key)
                notifications.append({"login": login, "role": role, "status": status})
            for key, r in existing.items():
                if key not in wanted and r["active"]:
                    await tx.execute("UPDATE document_recipients SET active = 0, updated_at = ? WHERE id = ?",
                                     (now, r["id"]))
            stored = await self._require(tx, tenant, doc_id)
        view = {**document_view(stored), "attachments": [files.attachment_json(a) for a in doc.attachments]}
        return {"document": view, "notifications": notifications}, created

    async def _notify(self, tx: Executor, tenant: Tenant, document_id: int, login: str, role: str,
                      row: Row | None, who: Any, now: float) -> str:
        """Decide one recipient's status, writing its row and (when due) its outbox row."""
        if row is not None and not row["active"]:
            await tx.execute("UPDATE document_recipients SET active = 1, updated_at = ? WHERE id = ?", (now, row["id"]))
        if row is not None and (row["msgid"] is not None or row["delivery"] not in REQUEUE):
            return "already_notified"
        status = getattr(who, "status", None)
        if status is None:
            return "unknown_account"
        if status == "departed":
            return "departed"
        delivery = "queued" if status == "active" and who.openid else "unbound"
        if row is None:
            inserted = await tx.execute(
                "INSERT INTO document_recipients (tenant_id, document_id, login, role, account_id, active, delivery,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (tenant.id, document_id, login, role, who.account_id, delivery, now, now))
            recipient_id = inserted.lastrowid
        else:
            recipient_id = row["id"]
            await tx.execute("UPDATE document_recipients SET delivery = ?, account_id = ?, updated_at = ?"
                             " WHERE id = ?", (delivery, who.account_id, now, recipient_id))
        assert recipient_id is not None
        if delivery == "queued":
            await self.outbox.enqueue(tx, tenant.id, recipient_id)
        return delivery

    async def get(self, tenant: Tenant, doc_id: str) -> dict[str, Any]:
        doc = await self._require(self.storage, tenant, doc_id)
        rows = await self._recipient_rows(self.storage, doc["id"])
        rows.sort(key=lambda r: (r["role"] != "approver", r["id"]))
        attached = await files.load(self.storage, tenant.id, doc["id"])
        return {**document_view(doc), "recipients": [
            {**_decision_view(r), "delivery": r["delivery"]} for r in rows if r["active"]],
            "attachments": [files.attachment_json(a) for a in attached]}

    async def resend(self, tenant: Tenant, doc_id: str, body: Any, actor: str = "api") -> dict[str, Any]:
        """Queue again a recipient's notification that failed for good (`failed:…`, gave_up included)
        or found them unbound: the tenant's deliberate choice, never automatic."""
        if not isinstance(body, dict) or not set(body) <= {"login", "role"} or not isinstance(body.get("login"), str) \
                or body.get("role", "approver") not in ("approver", "cc"):
            raise Invalid('the body must be {"login": "…", "role": "approver|cc"}')
        role = body.get("role")
        who = await self.people.recipient(tenant, body["login"])
        now = self.clock.now()
        requeued: list[dict[str, str]] = []
        async with self.storage.transaction() as tx:
            doc = await self._require(tx, tenant, doc_id, lock=True)
            if doc["status"] != "open":
                raise Conflict("the document is closed", {"status": doc["status"]})
            rows = [r for r in await self._recipient_rows(tx, doc["id"])
                    if r["active"] and r["login"] == who.login and (role is None or r["role"] == role)]
            if not rows:
                raise NotFound("no such recipient of this document", {"login": body["login"]})
            for row in rows:
                if not (str(row["delivery"]).startswith("failed:") or row["delivery"] == "unbound"):
                    raise Conflict("this notification was delivered or is on its way",
                                   {"login": row["login"], "role": row["role"], "delivery": row["delivery"]})
                await tx.execute("UPDATE document_recipients SET msgid = NULL WHERE id = ?", (row["id"],))
                delivery = await self._notify(tx, tenant, doc["id"], row["login"], row["role"],
                                              {**row, "msgid": None, "delivery": "unbound"}, who, now)
                requeued.append({"login": row["login"], "role": row["role"], "delivery": delivery})
            await self.audit.record(tenant.id, actor, "notification.resent", doc_id,
                                    {"login": who.login, "roles": [r["role"] for r in requeued]}, ex=tx)
        self.workers.wake()
        return {"requeued": requeued}

    async def close(self, tenant: Tenant, doc_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or set(body) != {"status"} or body["status"] not in CLOSED:
            raise Invalid("the body must be {\"status\": \"approved|rejected|withdrawn\"}")
        await self.storage.retrying(lambda: self._close_once(tenant, doc_id, body["status"]))
        return await self.get(tenant, doc_id)

    async def _close_once(self, tenant: Tenant, doc_id: str, status: str) -> None:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            doc = await self._require(tx, tenant, doc_id, lock=True)
            if doc["status"] == "open":
                await tx.execute("UPDATE documents SET status = ?, closed_at = ?, updated_at = ? WHERE id = ?",
                                 (status, now, now, doc["id"]))
                await self.audit.record(tenant.id, "api", "document.closed", doc_id, {"status": status}, ex=tx)
            elif doc["status"] != status:
                raise Conflict("the document is already closed", {"status": doc["status"]})

    # ---- recipients (mobile) -----------------------------------------------------------------------
    async def decide(self, tenant: Tenant, doc_id: str, account_id: int, login: str, body: Any) -> None:
        if not isinstance(body, dict) or not set(body) <= {"decision", "comment"}:
            raise Invalid("the body must be {\"decision\": \"approve|reject\", \"comment\": \"…\"}")
        decision, comment = body.get("decision"), body.get("comment") or ""
        if decision not in DECISIONS:
            raise Invalid("decision must be approve or reject", {"field": "decision"})
        if not isinstance(comment, str) or len(comment) > COMMENT_MAX:
            raise Invalid(f"comment must be a text of at most {COMMENT_MAX} characters", {"field": "comment"})
        await self.storage.retrying(lambda: self._decide_once(tenant, doc_id, account_id, login, decision, comment))
        self.workers.wake_webhooks()

    async def _decide_once(self, tenant: Tenant, doc_id: str, account_id: int, login: str, decision: str,
                           comment: str) -> None:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            opened = await open_for(tx, self.storage, tenant, doc_id, account_id, now, lock=True)
            approver = opened.approver
            if approver is None:
                raise Conflict("only approvers decide on this document")
            if opened.doc["status"] != "open":
                raise Conflict("the document is closed", {"status": opened.doc["status"]})
            done = await tx.execute("UPDATE document_recipients SET decision = ?, comment = ?, decided_at = ?,"
                                    " updated_at = ? WHERE id = ? AND decision IS NULL",
                                    (decision, comment, now, now, approver["id"]))
            if done.rowcount != 1:
                raise Conflict("you have already decided on this document")
            data = {"doc_id": doc_id, "login": login, "decision": decision, "comment": comment,
                    "decided_at": iso(now)}
            await self.events.emit(tenant, "document.decision", data, ex=tx)
            await self.audit.record(tenant.id, login, "document.decision", doc_id,
                                       {"decision": decision}, ex=tx)

    async def pending_count(self, tenant: Tenant, openid: str) -> int | None:
        """Approvals waiting for the account bound to `openid`; None when nobody is bound to it."""
        who = await self.people.account_for_openid(tenant, openid)
        if who is None:
            return None
        value = await self.storage.fetchval(
            "SELECT COUNT(*) AS n FROM document_recipients r JOIN documents d ON d.id = r.document_id"
            " WHERE r.tenant_id = ? AND r.account_id = ? AND r.role = 'approver' AND r.active = 1"
            " AND r.decision IS NULL AND d.status = 'open'", (tenant.id, who.account_id))
        return int(value or 0)
