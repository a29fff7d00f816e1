"""Schema of the console's people pages (versions 70-79): each account's last sign-in, and the
indexes the accounts, documents and webhooks pages page on."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(70, "last sign-in of each account; accounts paged by status", (
        # A table of its own rather than a column: ALTER TABLE ADD COLUMN is not idempotent in
        # both dialects, and a migration cut short must be able to run again.
        """CREATE TABLE account_sign_ins (
            tenant_id {int} NOT NULL, account_id {int} NOT NULL, last_at {ts} NOT NULL,
            PRIMARY KEY (tenant_id, account_id)){opts}""",
        "CREATE INDEX accounts_tenant ON accounts (tenant_id, id)",
        "CREATE INDEX accounts_tenant_status ON accounts (tenant_id, status, id)",
    )),
    Migration(71, "a tenant's documents newest first", (
        "CREATE INDEX documents_tenant ON documents (tenant_id, id)",
    )),
    Migration(72, "a tenant's webhook deliveries newest first", (
        "CREATE INDEX webhook_tenant ON webhook_deliveries (tenant_id, event_id)",
    )),
)
