"""Schema of document attachments: the files a document lists, fetched for its recipients
through the gateway (versions 90-99)."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(90, "document attachments", (
        # One row per listed file, `position` its index in the document's list (the n of
        # /wx/{slug}/doc/{doc_id}/files/{n}); replaced as a whole by every PUT of the document.
        """CREATE TABLE document_attachments (
            tenant_id {int} NOT NULL, document_id {int} NOT NULL, position {int} NOT NULL,
            name {text} NOT NULL, url {text} NOT NULL, size {int} NOT NULL, content_type {key} NOT NULL,
            PRIMARY KEY (document_id, position)){opts}""",
        "CREATE INDEX document_attachments_tenant ON document_attachments (tenant_id, document_id)",
    )),
)
