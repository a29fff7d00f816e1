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

# Versions 73-79: imports from the console, WeChat ids, refused registrations, the two logs.
MIGRATIONS += (
    Migration(73, "WeChat ids from imports; uploaded sheets between the import's steps", (
        """CREATE TABLE account_wechat_ids (
            tenant_id {int} NOT NULL, account_id {int} NOT NULL, wechat_id {key} NOT NULL,
            PRIMARY KEY (tenant_id, account_id)){opts}""",
        # A sheet (or a sheet of generated passwords) sealed with the master key, kept an hour.
        """CREATE TABLE import_uploads (
            tenant_id {int} NOT NULL, token {key} NOT NULL, purpose {key} NOT NULL, sealed {blob} NOT NULL,
            created_at {ts} NOT NULL, PRIMARY KEY (tenant_id, token)){opts}""",
    )),
    Migration(74, "who asked for a pending registration; refusals waiting to be told", (
        """CREATE TABLE registration_openids (
            tenant_id {int} NOT NULL, account_id {int} NOT NULL, openid {key} NOT NULL,
            PRIMARY KEY (tenant_id, account_id)){opts}""",
        """CREATE TABLE refused_registrations (
            tenant_id {int} NOT NULL, openid {key} NOT NULL, login {key} NOT NULL, refused_at {ts} NOT NULL,
            PRIMARY KEY (tenant_id, openid)){opts}""",
    )),
    Migration(75, "the logs paged by person and by kind", (
        "CREATE INDEX audit_tenant_subject ON audit (tenant_id, subject, id)",
        "CREATE INDEX audit_tenant_action ON audit (tenant_id, action, id)",
        "CREATE INDEX audit_tenant_actor ON audit (tenant_id, actor, id)",
        "CREATE INDEX audit_tenant_at ON audit (tenant_id, at)",
    )),
    Migration(76, "accounts found by the start of a name or position", (
        "CREATE INDEX accounts_tenant_name ON accounts (tenant_id, name{prefix64}, id)",
        "CREATE INDEX accounts_tenant_position ON accounts (tenant_id, `position`{prefix64}, id)",  # not POSITION()
    )),
)
