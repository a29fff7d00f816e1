"""The store interface on the current back end: rows as dicts, transactions commit or roll
back as a whole, duplicate keys raise, migrations are idempotent and safe to run at once, and
finish after an earlier run was cut short; a failed SQLite COMMIT leaves the connection usable."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from gateway.storage import DuplicateKey, StorageError, open_storage
from gateway.storage.migrations import MIGRATIONS, migrate, render
from gateway.storage.sqlite import SqliteStorage


async def _storage(env):
    await env.ensure_database()
    storage = open_storage(env.settings().storage.url)
    await storage.connect()
    return storage


async def test_migrations_idempotent(env):
    storage = await _storage(env)
    try:
        first = await migrate(storage)
        assert first == [m.version for m in MIGRATIONS]
        assert await migrate(storage) == []
        rows = await storage.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == first
    finally:
        await storage.close()
        await env.drop_database()


async def test_concurrent_migrations_leave_one_schema(env):
    await env.ensure_database()
    stores = [open_storage(env.settings().storage.url) for _ in range(3)]
    for s in stores:
        await s.connect()
    try:
        results = await asyncio.gather(*(migrate(s) for s in stores))
        applied = sorted(v for r in results for v in r)
        assert applied == [m.version for m in MIGRATIONS]
        count = await stores[0].fetchval("SELECT COUNT(*) FROM schema_migrations")
        assert count == len(MIGRATIONS)
    finally:
        for s in stores:
            await s.close()
        await env.drop_database()


async def test_rows_transactions_and_duplicates(env):
    storage = await _storage(env)
    try:
        await migrate(storage)
        await storage.execute("INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                              (1, "a", '"x"', 1.5))
        row = await storage.fetchone("SELECT * FROM tenant_state WHERE tenant_id = ? AND name = ?", (1, "a"))
        assert row == {"tenant_id": 1, "name": "a", "value": '"x"', "updated_at": 1.5}
        with pytest.raises(DuplicateKey):
            await storage.execute("INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                                  (1, "a", '"y"', 2.0))
        with pytest.raises(RuntimeError):
            async with storage.transaction() as tx:
                await tx.execute("INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                                 (1, "b", '"z"', 1.0))
                raise RuntimeError("boom")
        assert await storage.fetchone("SELECT * FROM tenant_state WHERE name = ?", ("b",)) is None
        async with storage.transaction() as tx:
            await tx.execute("INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                             (1, "c", '"100% ?"', 1.0))
        assert await storage.fetchval("SELECT value FROM tenant_state WHERE name = ?", ("c",)) == '"100% ?"'
        result = await storage.execute("UPDATE tenant_state SET value = ? WHERE tenant_id = ?", ('"u"', 1))
        assert result.rowcount == 2
        r = await storage.execute("INSERT INTO audit (tenant_id, at, actor, action, subject, detail)"
                                  " VALUES (?, ?, ?, ?, ?, ?)", (1, 1.0, "a", "b", "c", "{}"))
        assert r.lastrowid and r.lastrowid > 0
        assert await storage.fetchval("SELECT subject FROM audit WHERE id = ?", (r.lastrowid,)) == "c"
        text = "中文 emoji 🎉"
        await storage.execute("UPDATE audit SET subject = ? WHERE id = ?", (text, r.lastrowid))
        assert await storage.fetchval("SELECT subject FROM audit WHERE id = ?", (r.lastrowid,)) == text
    finally:
        await storage.close()
        await env.drop_database()


@pytest.mark.filterwarnings("ignore:Table '.*' already exists")
async def test_migration_cut_short_is_finished_by_the_next_start(env):
    """MySQL commits each DDL by itself: a crash mid-migration leaves tables and indexes but no
    schema_migrations row. Replay that state by hand, then migrate() must complete."""
    storage = await _storage(env)
    try:
        first, second = MIGRATIONS[0], MIGRATIONS[1]
        await migrate_only(storage, MIGRATIONS[:1])
        # The second migration got as far as its table and index, then the process died.
        for statement in second.statements[:2]:
            await storage.execute(render(statement, storage.dialect))
        applied = await migrate(storage)
        assert applied == [m.version for m in MIGRATIONS if m.version != first.version]
        assert await migrate(storage) == []
        count = await storage.fetchval("SELECT COUNT(*) FROM schema_migrations")
        assert count == len(MIGRATIONS)
        await storage.execute("INSERT INTO callback_dedupe (tenant_id, dedupe_key, reply, created_at)"
                              " VALUES (?, ?, ?, ?)", (1, "k", None, 1.0))
        # A whole migration replayed over its existing tables and indexes: still fine.
        await storage.execute("DELETE FROM schema_migrations WHERE version = ?", (MIGRATIONS[2].version,))
        assert await migrate(storage) == [MIGRATIONS[2].version]
    finally:
        await storage.close()
        await env.drop_database()


async def migrate_only(storage, migrations) -> None:
    """Apply some migrations completely, as an older release would have."""
    import gateway.storage.migrations as module
    saved = module.MIGRATIONS
    module.MIGRATIONS = tuple(migrations)
    try:
        await migrate(storage)
    finally:
        module.MIGRATIONS = saved


async def test_other_ddl_errors_still_fail_the_migration(env):
    storage = await _storage(env)
    try:
        await migrate(storage)
        with pytest.raises(StorageError):
            await storage.execute(render("CREATE INDEX audit_tenant ON no_such_table (id)", storage.dialect))
    finally:
        await storage.close()
        await env.drop_database()


async def test_sqlite_failed_commit_rolls_back_and_the_connection_stays_usable(tmp_path, monkeypatch):
    storage = SqliteStorage(str(tmp_path / "t.db"))
    await storage.connect()
    try:
        await storage.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
        conn = storage._conn
        real_execute = conn.execute
        failures = {"left": 1}

        def failing_execute(sql, *args, **kwargs):
            if sql == "COMMIT" and failures["left"]:
                failures["left"] -= 1
                raise sqlite3.OperationalError("disk I/O error")
            return real_execute(sql, *args, **kwargs)

        monkeypatch.setattr(conn, "execute", failing_execute)
        with pytest.raises(StorageError):
            async with storage.transaction() as tx:
                await tx.execute("INSERT INTO t (k) VALUES (?)", ("lost",))
        assert not conn.in_transaction
        assert await storage.fetchval("SELECT COUNT(*) FROM t") == 0
        async with storage.transaction() as tx:
            await tx.execute("INSERT INTO t (k) VALUES (?)", ("kept",))
        assert await storage.fetchall("SELECT k FROM t") == [{"k": "kept"}]
    finally:
        await storage.close()


async def test_sqlite_connection_replaced_when_rollback_fails_too(tmp_path, monkeypatch):
    storage = SqliteStorage(str(tmp_path / "t.db"))
    await storage.connect()
    try:
        await storage.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
        conn = storage._conn
        real_execute = conn.execute

        def failing_execute(sql, *args, **kwargs):
            if sql in ("COMMIT", "ROLLBACK"):
                raise sqlite3.OperationalError("disk I/O error")
            return real_execute(sql, *args, **kwargs)

        monkeypatch.setattr(conn, "execute", failing_execute)
        with pytest.raises(StorageError):
            async with storage.transaction() as tx:
                await tx.execute("INSERT INTO t (k) VALUES (?)", ("lost",))
        assert storage._conn is not conn
        async with storage.transaction() as tx:
            await tx.execute("INSERT INTO t (k) VALUES (?)", ("kept",))
        assert await storage.fetchall("SELECT k FROM t") == [{"k": "kept"}]
    finally:
        await storage.close()
