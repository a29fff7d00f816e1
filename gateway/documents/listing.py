"""The console's view of a tenant's documents: the newest first, one page at a time on the
document id (index (tenant_id, id)), each with its recipients' deliveries and decisions."""
from __future__ import annotations

from gateway.storage import Row, Storage

PAGE_SIZE = 30
# What one document's page shows beyond the list (the list reads less: 150 rows a page).
_DETAIL = ", r.comment, r.decided_at, r.updated_at"


class DocumentListing:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def page(self, tenant_id: int, before: int, size: int = PAGE_SIZE) -> tuple[list[Row], dict[int, list[Row]],
                                                                                     int | None]:
        """Documents newest first (ids below `before`, 0 = from the newest), their active
        recipients by document id, and the id to continue before (None on the last page)."""
        # MariaDB otherwise reads (tenant_id, id) as a tenant_id lookup and walks every newer row.
        hint = " FORCE INDEX (documents_tenant)" if self.storage.dialect == "mysql" else ""
        below = " AND id < ?" if before > 0 else ""
        # One statement (one round trip) for the page and its recipients: the documents' page is
        # taken first in the subquery, its recipients joined by document id.
        rows = await self.storage.fetchall(
            "SELECT d.id, d.doc_id, d.type, d.title, d.applicant, d.status, d.created_at, r.id AS r_id, r.login,"
            " r.role, r.delivery, r.decision, a.name FROM"
            f" (SELECT id, doc_id, type, title, applicant, status, created_at FROM documents{hint}"
            f"  WHERE tenant_id = ?{below} ORDER BY id DESC LIMIT ?) d"
            " LEFT JOIN document_recipients r ON r.document_id = d.id AND r.active = 1"
            " LEFT JOIN accounts a ON a.tenant_id = r.tenant_id AND a.id = r.account_id",
            (tenant_id, *((before,) if before > 0 else ()), size + 1))
        docs: dict[int, Row] = {}
        found: dict[int, list[Row]] = {}
        for row in rows:
            doc_id = int(row["id"])
            if doc_id not in docs:
                docs[doc_id] = {k: row[k] for k in ("id", "doc_id", "type", "title", "applicant", "status",
                                                    "created_at")}
                found[doc_id] = []
            if row["r_id"] is not None:
                found[doc_id].append({"id": row["r_id"], "document_id": doc_id, "login": row["login"],
                                      "role": row["role"], "delivery": row["delivery"], "decision": row["decision"],
                                      "name": row["name"]})
        ordered = sorted(docs.values(), key=lambda d: -int(d["id"]))
        more = len(ordered) > size
        ordered = ordered[:size]
        for recipients in found.values():
            recipients.sort(key=lambda r: (r["role"] != "approver", r["id"]))
        return ordered, {int(d["id"]): found[int(d["id"])] for d in ordered}, \
            (int(ordered[-1]["id"]) if more and ordered else None)

    async def one(self, tenant_id: int, doc_id: str) -> tuple[Row | None, list[Row]]:
        doc = await self.storage.fetchone(
            "SELECT id, doc_id, type, title, summary, applicant, submitted_at, status, created_at, closed_at"
            " FROM documents WHERE tenant_id = ? AND doc_id = ?", (tenant_id, doc_id))
        if doc is None:
            return None, []
        return doc, (await self._recipients(tenant_id, [int(doc["id"])], _DETAIL)).get(int(doc["id"]), [])

    async def _recipients(self, tenant_id: int, ids: list[int], extra: str = "") -> dict[int, list[Row]]:
        # By document id alone (the ids are this tenant's) and sorted here: a tenant_id condition
        # or an ORDER BY id leads the planners to scan all the tenant's recipients instead.
        found: dict[int, list[Row]] = {i: [] for i in ids}
        if not ids:
            return found
        marks = ", ".join("?" * len(ids))
        rows = await self.storage.fetchall(
            f"SELECT r.id, r.document_id, r.login, r.role, r.delivery, r.decision{extra},"
            " a.name FROM document_recipients r LEFT JOIN accounts a ON a.tenant_id = r.tenant_id AND a.id = r.account_id"
            f" WHERE r.document_id IN ({marks}) AND r.active = 1", ids)
        for row in sorted(rows, key=lambda r: r["id"]):
            found[int(row["document_id"])].append(row)
        for rows_of_doc in found.values():
            rows_of_doc.sort(key=lambda r: (r["role"] != "approver", r["id"]))
        return found
