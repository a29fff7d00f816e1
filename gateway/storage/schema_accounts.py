"""Schema of accounts and WeChat bindings (versions 10-19): one row per tenant account, one row
per binding ever made (the active ones carry unique columns so the database itself keeps one),
and the failure counters of logins that name no account."""
from __future__ import annotations

from gateway.storage.migration import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(10, "accounts and bindings", (
        # login as the tenant wrote it; login_key = NFKC + casefold, the one used for lookups.
        # failed_count/failed_since/locked_until mirror the cache's login counter so a lockout
        # survives a cache flush or outage.
        """CREATE TABLE accounts (
            id {pk}, tenant_id {int} NOT NULL, login {key} NOT NULL, login_key {key} NOT NULL,
            name {text} NOT NULL, kind {key} NOT NULL, position {text} NOT NULL, status {key} NOT NULL,
            password_hash {text}, must_change_password {bool} NOT NULL DEFAULT 0,
            password_changed_at {ts}, failed_count {int} NOT NULL DEFAULT 0, failed_since {ts},
            locked_until {ts}, created_at {ts} NOT NULL, updated_at {ts} NOT NULL,
            UNIQUE (tenant_id, login_key)){opts}""",
        # active_account / active_openid are set only while the binding is active (NULL after):
        # two unique keys then allow one active binding per account and per openid in a tenant,
        # whatever the number of processes racing to bind.
        """CREATE TABLE bindings (
            id {pk}, tenant_id {int} NOT NULL, account_id {int} NOT NULL, openid {key} NOT NULL,
            created_at {ts} NOT NULL, ended_at {ts}, end_reason {key},
            active_account {int}, active_openid {key},
            UNIQUE (tenant_id, active_account), UNIQUE (tenant_id, active_openid)){opts}""",
        "CREATE INDEX bindings_account ON bindings (tenant_id, account_id, id)",
    )),
    Migration(11, "failure counters of unknown logins", (
        # The database mirror of the cache's counter for a login that names no account, so that
        # with the cache down such a login counts down and locks exactly as an account would.
        # login_digest is a keyed hash of the normalised login: whatever was typed is not stored.
        """CREATE TABLE login_failures (
            tenant_id {int} NOT NULL, login_digest {key} NOT NULL, failed_count {int} NOT NULL DEFAULT 0,
            failed_since {ts}, locked_until {ts}, PRIMARY KEY (tenant_id, login_digest)){opts}""",
    )),
)
