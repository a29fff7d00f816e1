"""The store interface on the current back end: rows as dicts, transactions commit or roll
back as a whole, duplicate keys raise, migrations are idempotent and safe to run at once."""
from __future__ import annotations

import asyncio

import pytest

from gateway.storage import DuplicateKey, open_storage
from gateway.storage.migrations import MIGRATIONS, migrate


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
