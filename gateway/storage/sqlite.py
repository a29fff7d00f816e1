"""Embedded SQLite storage (aiosqlite): one connection, statements serialised by a lock
so a transaction never interleaves with another caller's statement."""
from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiosqlite

from gateway.storage.base import (DuplicateKey, Executor, ExecResult, Params, Row, Storage, StorageError,
                                  TransientConflict)


def _wrap(exc: sqlite3.Error) -> StorageError:
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return TransientConflict("database is busy")
    return StorageError("database error")


class _Conn(Executor):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            async with self._conn.execute(sql, tuple(params)) as cur:
                rows = await cur.fetchall()
                names = [d[0] for d in cur.description or ()]
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey("duplicate key") from exc
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc
        return [dict(zip(names, row)) for row in rows]

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        try:
            cur = await self._conn.execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey("duplicate key") from exc
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc
        result = ExecResult(cur.rowcount, cur.lastrowid)
        await cur.close()
        return result


def _create_private(path: str) -> None:
    """Create the database file readable by its owner only (it holds password hashes and sealed
    secrets); SQLite gives its -wal and -shm files the same mode. An existing file is left as is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


class SqliteStorage(Storage):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
        connection = aiosqlite.connect(self.path, isolation_level=None)
        # aiosqlite's worker thread is not a daemon: a connection left open by mistake would keep
        # the interpreter from exiting. Orderly shutdown closes it first anyway.
        worker = getattr(connection, "_thread", None)
        if worker is not None and not worker.is_alive():
            worker.daemon = True
        self._conn = await connection
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        # WAL + NORMAL: a commit survives a crash of the process (kill -9); only a power loss can
        # lose the last transactions. FULL would fsync on every callback and send.
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def _executor(self) -> _Conn:
        if self._conn is None:
            raise StorageError("storage is closed")
        return _Conn(self._conn)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._lock:
            return await self._executor().fetchall(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        async with self._lock:
            return await self._executor().execute(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            conn = self._executor()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.execute("COMMIT")
            except BaseException:
                await self._rollback(conn)
                raise

    async def _rollback(self, conn: _Conn) -> None:
        # Leaving the one shared connection inside a transaction would make every later BEGIN fail.
        if self._conn is None or not self._conn.in_transaction:
            return
        try:
            await conn.execute("ROLLBACK")
        except StorageError:
            # A connection that can neither commit nor roll back is replaced by a fresh one.
            await self.close()
            await self.connect()

    def migration_lock(self) -> AbstractAsyncContextManager[Executor]:
        return self.transaction()

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")
