"""Real storage faults through a small TCP proxy in front of MariaDB: with the database
unreachable every storage call raises StorageError (never a driver error) at once, the JSON
API answers 503 and /readyz names storage, and the same gateway recovers when the database is
back; a connection cut after the server ran an INSERT (or a COMMIT) is never retried into a
second row, while a cut read or BEGIN is simply run again.
Also: the tenant poll outlives an unexpected error."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any
from urllib.parse import urlparse

import pytest

from gateway.storage import StorageError
from gateway.storage.migrations import migrate
from gateway.storage.mysql import MysqlStorage
from harness import wait_for

MYSQL = os.environ.get("GATEWAY_TEST_BACKEND") == "mysql"
needs_mysql = pytest.mark.skipif(not MYSQL, reason="needs MariaDB (GATEWAY_TEST_BACKEND=mysql)")


def _upstream() -> tuple[str, int]:
    url = urlparse(os.environ.get("GATEWAY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3307/"))
    return url.hostname or "127.0.0.1", url.port or 3306


class Proxy:
    """Forwards loopback TCP to MariaDB. stop() closes the port and every open connection
    (the database is "down"); start() opens the same port again. `cut_on` arms a one-time
    fault: the client statement containing those bytes reaches the server, its reply is
    dropped, and the client connection is cut."""

    def __init__(self) -> None:
        self.port = 0
        self.cut_on: bytes | None = None
        self.cuts = 0
        self.frozen = False  # while set, bytes wait in the proxy both ways (a hung server)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> "Proxy":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def url(self, db: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{db}"

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*_upstream())
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, server_w}
        state = {"withhold": False}

        async def thaw() -> None:
            while self.frozen:
                await asyncio.sleep(0.05)

        async def up() -> None:
            while data := await client_r.read(65536):
                await thaw()
                if self.cut_on is not None and self.cut_on in data:
                    self.cut_on, state["withhold"] = None, True
                server_w.write(data)
                await server_w.drain()

        async def down() -> None:
            while data := await server_r.read(65536):
                await thaw()
                if state["withhold"]:
                    # The server answered, so the statement ran; the client never hears of it.
                    self.cuts += 1
                    client_w.close()
                    server_w.close()
                    return
                client_w.write(data)
                await client_w.drain()

        try:
            await asyncio.gather(up(), down(), return_exceptions=True)
        finally:
            for writer in (client_w, server_w):
                writer.close()
                self._writers.discard(writer)


async def _direct(env: Any) -> MysqlStorage:
    await env.ensure_database()
    storage = MysqlStorage(env.settings().storage.url)
    await storage.connect()
    return storage


async def _raises_storage_error_quickly(call: Any) -> None:
    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        await call()
    assert type(caught.value).__module__.startswith("gateway.storage")
    assert time.monotonic() - started < 3.0


@pytest.mark.mysql_only
@needs_mysql
async def test_every_call_raises_storage_error_while_down_then_recovers(env):
    direct = await _direct(env)
    proxy = await Proxy().start()
    storage = MysqlStorage(proxy.url(env.db_name))
    try:
        await storage.connect()
        await migrate(storage)
        assert await storage.fetchval("SELECT 1") == 1
        await proxy.stop()
        await _raises_storage_error_quickly(lambda: storage.fetchval("SELECT COUNT(*) FROM audit"))
        await _raises_storage_error_quickly(lambda: storage.execute(
            "INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)", (1, "a", "1", 1.0)))
        await _raises_storage_error_quickly(storage.ping)

        async def in_transaction() -> None:
            async with storage.transaction() as tx:
                await tx.execute("DELETE FROM tenant_state")

        async def under_migration_lock() -> None:
            async with storage.migration_lock() as ex:
                await ex.fetchall("SELECT 1")

        await _raises_storage_error_quickly(in_transaction)
        await _raises_storage_error_quickly(under_migration_lock)
        await _raises_storage_error_quickly(lambda: migrate(storage))
        await proxy.start()
        assert await storage.fetchval("SELECT 1") == 1
        async with storage.transaction() as tx:
            await tx.execute("INSERT INTO tenant_state (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)",
                             (1, "b", "1", 1.0))
        assert await direct.fetchval("SELECT COUNT(*) FROM tenant_state") == 1
    finally:
        await storage.close()
        await proxy.stop()
        await direct.close()
        await env.drop_database()


@pytest.mark.mysql_only
@needs_mysql
async def test_json_api_answers_503_while_the_database_is_down_and_recovers(env):
    await env.ensure_database()
    proxy = await Proxy().start()
    try:
        async with env.gateway(storage={"url": proxy.url(env.db_name)}) as g:
            await g.create_tenant("acme")
            assert (await g.admin("GET", "/admin/api/tenants/acme/audit")).status == 200
            poller = g.gw.registry._poller
            await proxy.stop()
            r = await g.admin("GET", "/admin/api/tenants/acme/audit")
            assert r.status == 503, r.text
            assert r.json["error"]["code"] == "unavailable"
            ready = await g.request("GET", "/readyz")
            assert ready.status == 503 and "storage" in ready.json["down"]
            await proxy.start()
            ok = await wait_for(lambda: _status(g, "/admin/api/tenants/acme/audit", 200), timeout=10)
            assert ok
            ready = await g.request("GET", "/readyz")
            assert ready.status == 200, ready.text
            assert poller is not None and not poller.done()
    finally:
        await proxy.stop()


async def _status(g: Any, path: str, want: int) -> bool:
    return (await g.admin("GET", path)).status == want


@pytest.mark.mysql_only
@needs_mysql
async def test_insert_cut_after_the_server_ran_it_is_not_repeated(env):
    direct = await _direct(env)
    await direct.execute("CREATE TABLE probe (id BIGINT PRIMARY KEY AUTO_INCREMENT, v BIGINT NOT NULL)")
    proxy = await Proxy().start()
    storage = MysqlStorage(proxy.url(env.db_name))
    try:
        await storage.connect()
        await storage.fetchval("SELECT 1")  # a pooled connection the cut will hit
        proxy.cut_on = b"INSERT INTO probe"
        with pytest.raises(StorageError):
            await storage.execute("INSERT INTO probe (v) VALUES (?)", (7,))
        assert proxy.cuts == 1
        await asyncio.sleep(0.3)  # a repeat, if any, would have landed by now
        assert await direct.fetchall("SELECT v FROM probe") == [{"v": 7}]
        # A read cut the same way is simply asked again on a fresh connection.
        proxy.cut_on = b"SELECT v FROM probe"
        assert await storage.fetchall("SELECT v FROM probe") == [{"v": 7}]
        assert proxy.cuts == 2
        # A transaction cut at BEGIN has run nothing yet: it is begun again on a fresh connection.
        proxy.cut_on = b"BEGIN"
        async with storage.transaction() as tx:
            await tx.execute("INSERT INTO probe (v) VALUES (?)", (8,))
        assert proxy.cuts == 3
        # A COMMIT cut after the server ran it is reported, never repeated.
        proxy.cut_on = b"COMMIT"
        with pytest.raises(StorageError):
            async with storage.transaction() as tx:
                await tx.execute("INSERT INTO probe (v) VALUES (?)", (9,))
        assert proxy.cuts == 4
        await asyncio.sleep(0.3)
        assert [r["v"] for r in await direct.fetchall("SELECT v FROM probe ORDER BY id")] == [7, 8, 9]
        # And the storage is fine afterwards.
        await storage.execute("INSERT INTO probe (v) VALUES (?)", (10,))
        assert await direct.fetchval("SELECT COUNT(*) FROM probe") == 4
    finally:
        await storage.close()
        await proxy.stop()
        await direct.close()
        await env.drop_database()


async def test_tenant_poll_outlives_unexpected_errors(env, monkeypatch, caplog):
    import gateway.platform.tenant_registry as registry_module
    monkeypatch.setattr(registry_module, "POLL_SECONDS", 0.05)
    async with env.gateway() as g:
        registry = g.gw.registry
        await registry.stop()  # restart the poll with the short period
        calls = {"n": 0}
        real = registry._current_fingerprint

        async def flaky() -> Any:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise ValueError("secret-looking detail")
            return await real()

        monkeypatch.setattr(registry, "_current_fingerprint", flaky)
        with caplog.at_level(logging.ERROR, logger="gateway.platform.tenant_registry"):
            registry._poller = asyncio.ensure_future(registry._poll())
            await wait_for(lambda: calls["n"] >= 4, timeout=5)
        assert not registry._poller.done()
        assert "ValueError" in caplog.text and "secret-looking" not in caplog.text
