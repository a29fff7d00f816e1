"""Schema of the web console (versions 30-39): console accounts (operator accounts have
tenant_id 0; a tenant's administrators carry their tenant's id) and console sessions."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(30, "console accounts and sessions", (
        # failed_count/failed_since/locked_until: the same counter columns as accounts, so the
        # phone login's LoginLimiter counts and locks console sign-ins too. totp_secret is sealed.
        """CREATE TABLE console_accounts (
            id {pk}, tenant_id {int} NOT NULL, login {key} NOT NULL, login_key {key} NOT NULL,
            role {key} NOT NULL, password_hash {text} NOT NULL, must_change_password {bool} NOT NULL DEFAULT 1,
            totp_required {bool} NOT NULL DEFAULT 0, totp_secret {blob},
            failed_count {int} NOT NULL DEFAULT 0, failed_since {ts}, locked_until {ts},
            created_at {ts} NOT NULL, updated_at {ts} NOT NULL, UNIQUE (tenant_id, login_key)){opts}""",
        # id_hash: SHA-256 of the cookie's random token (the token itself is never stored).
        """CREATE TABLE console_sessions (
            id_hash {key} NOT NULL PRIMARY KEY, tenant_id {int} NOT NULL, account_id {int},
            role {key} NOT NULL, actor {key} NOT NULL, created_at {ts} NOT NULL, last_seen {ts} NOT NULL){opts}""",
        "CREATE INDEX console_sessions_account ON console_sessions (account_id)",
    )),
)
