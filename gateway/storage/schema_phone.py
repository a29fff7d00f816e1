"""Schema of what the phone adds to documents: recipients' comments, and the index that pages an
account's history newest first (versions 80-89)."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(80, "document comments and the history index", (
        # One row per comment; `name` is the author's name when written (the page shows the
        # current one when the account still exists).
        """CREATE TABLE document_comments (
            id {pk}, tenant_id {int} NOT NULL, document_id {int} NOT NULL, account_id {int} NOT NULL,
            login {key} NOT NULL, name {text} NOT NULL, role {key} NOT NULL, comment {text} NOT NULL,
            created_at {ts} NOT NULL){opts}""",
        "CREATE INDEX comments_document ON document_comments (document_id, id)",
        "CREATE INDEX comments_author ON document_comments (tenant_id, account_id, document_id)",
        # The history pages on the document id per account, newest first.
        "CREATE INDEX recipients_history ON document_recipients (tenant_id, account_id, document_id)",
    )),
)
