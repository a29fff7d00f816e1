"""Schema of documents, their recipients (per-recipient delivery and decision) and the
notification outbox (versions 20-29)."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(20, "documents, recipients and the notification outbox", (
        """CREATE TABLE documents (
            id {pk}, tenant_id {int} NOT NULL, doc_id {key} NOT NULL, type {key} NOT NULL,
            title {text} NOT NULL, summary {text} NOT NULL, applicant {text} NOT NULL,
            submitted_at {key} NOT NULL, fields {text} NOT NULL, status {key} NOT NULL,
            created_at {ts} NOT NULL, updated_at {ts} NOT NULL, closed_at {ts},
            UNIQUE (tenant_id, doc_id)){opts}""",
        # One row per (document, login, role); `delivery` is what the tenant API reports.
        """CREATE TABLE document_recipients (
            id {pk}, tenant_id {int} NOT NULL, document_id {int} NOT NULL, login {key} NOT NULL,
            role {key} NOT NULL, account_id {int}, active {bool} NOT NULL DEFAULT 1,
            delivery {key} NOT NULL, msgid {key}, decision {key}, comment {text}, decided_at {ts},
            created_at {ts} NOT NULL, updated_at {ts} NOT NULL,
            UNIQUE (document_id, login, role)){opts}""",
        "CREATE INDEX recipients_msgid ON document_recipients (tenant_id, msgid)",
        "CREATE INDEX recipients_account ON document_recipients (tenant_id, account_id)",
        # At most one outbox row per recipient row. A row is due when state='queued' and
        # next_at <= now; a claim pushes next_at to the lease end, so an expired lease is
        # simply due again and one index (state, next_at, id) serves every claim.
        """CREATE TABLE outbox (
            id {pk}, tenant_id {int} NOT NULL, recipient_id {int} NOT NULL, state {key} NOT NULL,
            next_at {ts} NOT NULL, lease_owner {key}, attempts {int} NOT NULL DEFAULT 0,
            paced {bool} NOT NULL DEFAULT 0, last_error {text}, created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL, UNIQUE (recipient_id)){opts}""",
        "CREATE INDEX outbox_due ON outbox (state, next_at, id)",
        "CREATE INDEX outbox_tenant ON outbox (tenant_id, state, next_at)",
    )),
)
