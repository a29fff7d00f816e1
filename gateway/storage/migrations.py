"""Versioned schema migrations, written once for both dialects with type tokens,
applied at start under a lock: idempotent, and safe when two processes start at once. Each
statement is idempotent too, because MySQL commits every DDL statement by itself: a migration
cut short leaves some tables behind without its schema_migrations row, and the next start must
get past them."""
from __future__ import annotations

import re
import time

from gateway.storage import (schema_accounts, schema_attachments, schema_bind_qr, schema_component, schema_console,
                             schema_documents, schema_people, schema_phone)
from gateway.storage.base import Executor, Storage, StorageError
from gateway.storage.migration import Migration

_TYPES = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY AUTOINCREMENT", "key": "TEXT", "text": "TEXT",
               "blob": "BLOB", "ts": "REAL", "int": "INTEGER", "bool": "INTEGER", "opts": "", "prefix64": ""},
    "mysql": {"pk": "BIGINT PRIMARY KEY AUTO_INCREMENT", "key": "VARCHAR(191)", "text": "MEDIUMTEXT",
              "blob": "MEDIUMBLOB", "ts": "DOUBLE", "int": "BIGINT", "bool": "TINYINT",
              "opts": " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
              "prefix64": "(64)"},  # MySQL indexes a TEXT column by a prefix only
}


CORE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "tenants, verify files, tenant state, audit", (
        """CREATE TABLE tenants (
            id {pk}, slug {key} NOT NULL, app_id {key} NOT NULL, name {text} NOT NULL,
            config {text} NOT NULL, secrets {blob} NOT NULL, api_key_hash {key} NOT NULL,
            created_at {ts} NOT NULL, updated_at {ts} NOT NULL, revision {int} NOT NULL DEFAULT 1,
            UNIQUE (slug), UNIQUE (app_id), UNIQUE (api_key_hash)){opts}""",
        """CREATE TABLE verify_files (
            name {key} NOT NULL PRIMARY KEY, tenant_id {int} NOT NULL, content {text} NOT NULL){opts}""",
        """CREATE TABLE tenant_state (
            tenant_id {int} NOT NULL, name {key} NOT NULL, value {text} NOT NULL, updated_at {ts} NOT NULL,
            PRIMARY KEY (tenant_id, name)){opts}""",
        """CREATE TABLE audit (
            id {pk}, tenant_id {int} NOT NULL, at {ts} NOT NULL, actor {key} NOT NULL,
            action {key} NOT NULL, subject {key} NOT NULL, detail {text} NOT NULL){opts}""",
        "CREATE INDEX audit_tenant ON audit (tenant_id, id)",
    )),
    Migration(2, "callback dedupe and followers", (
        """CREATE TABLE callback_dedupe (
            tenant_id {int} NOT NULL, dedupe_key {key} NOT NULL, reply {blob}, created_at {ts} NOT NULL,
            PRIMARY KEY (tenant_id, dedupe_key)){opts}""",
        "CREATE INDEX callback_dedupe_age ON callback_dedupe (created_at)",
        """CREATE TABLE followers (
            tenant_id {int} NOT NULL, openid {key} NOT NULL, subscribed {bool} NOT NULL,
            updated_at {ts} NOT NULL, PRIMARY KEY (tenant_id, openid)){opts}""",
    )),
    Migration(3, "events and their webhook deliveries", (
        """CREATE TABLE events (
            id {pk}, tenant_id {int} NOT NULL, type {key} NOT NULL, created_at {ts} NOT NULL,
            data {text} NOT NULL){opts}""",
        "CREATE INDEX events_tenant ON events (tenant_id, id)",
        # One row per event to deliver to the tenant's webapi_url; claimed with a lease.
        """CREATE TABLE webhook_deliveries (
            event_id {int} NOT NULL PRIMARY KEY, tenant_id {int} NOT NULL, state {key} NOT NULL,
            attempts {int} NOT NULL DEFAULT 0, next_at {ts} NOT NULL, lease_until {ts} NOT NULL DEFAULT 0,
            first_at {ts} NOT NULL, last_error {text}){opts}""",
        "CREATE INDEX webhook_due ON webhook_deliveries (state, next_at, event_id)",
    )),
    Migration(4, "WeChat tokens kept in storage too (the cache may be down)", (
        """CREATE TABLE wechat_tokens (
            token_key {key} NOT NULL PRIMARY KEY, sealed {blob}, expires_at {ts} NOT NULL,
            lease_owner {key} NOT NULL, lease_until {ts} NOT NULL){opts}""",
    )),
)


def _all_migrations() -> tuple[Migration, ...]:
    # Each part of the product owns a version range: core 1-9, accounts 10-19, documents 20-29,
    # console 30-39, scan-to-bind 40-49, console people 70-79, phone history and comments 80-89,
    # attachments 90-99, component 100-109.
    found = [*CORE_MIGRATIONS, *schema_accounts.MIGRATIONS, *schema_documents.MIGRATIONS,
             *schema_console.MIGRATIONS, *schema_bind_qr.MIGRATIONS, *schema_people.MIGRATIONS,
             *schema_phone.MIGRATIONS, *schema_attachments.MIGRATIONS, *schema_component.MIGRATIONS]
    versions = [m.version for m in found]
    assert len(versions) == len(set(versions)), "two migrations share a version"
    return tuple(sorted(found, key=lambda m: m.version))


MIGRATIONS = _all_migrations()


_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?!IF\s+NOT\s+EXISTS\b)", re.IGNORECASE)
_DUPLICATE_INDEX = 1061  # MySQL/MariaDB: duplicate key name


def render(statement: str, dialect: str) -> str:
    """The statement in `dialect`, with CREATE TABLE made a no-op when the table exists."""
    return _CREATE_TABLE.sub("CREATE TABLE IF NOT EXISTS ", statement.format(**_TYPES[dialect]), count=1)


def _index_exists(exc: StorageError) -> bool:
    cause = exc.__cause__
    code = cause.args[0] if cause is not None and cause.args else None
    return code == _DUPLICATE_INDEX or "already exists" in str(cause)


async def _apply(ex: Executor, statement: str) -> None:
    try:
        await ex.execute(statement)
    except StorageError as exc:
        # MySQL 8 has no CREATE INDEX IF NOT EXISTS: an index left by an interrupted run is fine.
        if not (statement.lstrip().upper().startswith("CREATE INDEX") and _index_exists(exc)):
            raise


async def migrate(storage: Storage) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    applied_now: list[int] = []
    async with storage.migration_lock() as ex:
        await ex.execute(render(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version {int} NOT NULL PRIMARY KEY,"
            " name {text} NOT NULL, applied_at {ts} NOT NULL){opts}", storage.dialect))
        done = {row["version"] for row in await ex.fetchall("SELECT version FROM schema_migrations")}
        for migration in MIGRATIONS:
            if migration.version in done:
                continue
            for statement in migration.statements:
                await _apply(ex, render(statement, storage.dialect))
            await ex.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                             (migration.version, migration.name, time.time()))
            applied_now.append(migration.version)
    return applied_now
