"""MySQL/MariaDB storage (aiomysql): a pool of autocommit connections, short explicit
transactions, and one retry of a plain statement when a pooled connection went away."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator
from urllib.parse import unquote, urlparse

import aiomysql
import pymysql

from gateway.storage.base import (DuplicateKey, Executor, ExecResult, Params, Row, Storage, StorageError,
                                  TransientConflict)

_GONE = {2006, 2013, 2003, 2055}  # server gone / lost connection / can't connect


def _sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


_TRANSIENT = {1213, 1205}  # deadlock, lock wait timeout


def _wrap(exc: Exception) -> StorageError:
    code = exc.args[0] if exc.args else None
    if isinstance(exc, pymysql.err.IntegrityError) and code == 1062:
        return DuplicateKey("duplicate key")
    if code in _TRANSIENT:
        return TransientConflict("transaction conflict")
    return StorageError("database error")


class _Conn(Executor):
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            async with self._conn.cursor(aiomysql.DictCursor) as cur:
                await cur.execute(_sql(sql), tuple(params))
                return list(await cur.fetchall())
        except pymysql.err.MySQLError as exc:
            raise _wrap(exc) from exc

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        try:
            async with self._conn.cursor() as cur:
                await cur.execute(_sql(sql), tuple(params))
                return ExecResult(cur.rowcount, cur.lastrowid)
        except pymysql.err.MySQLError as exc:
            raise _wrap(exc) from exc


class MysqlStorage(Storage):
    dialect = "mysql"

    def __init__(self, url: str, pool_size: int = 10) -> None:
        parsed = urlparse(url)
        self._kwargs = dict(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 3306,
            user=unquote(parsed.username or "root"), password=unquote(parsed.password or ""),
            db=parsed.path.lstrip("/") or "gateway", charset="utf8mb4", autocommit=True,
            connect_timeout=5, pool_recycle=300, maxsize=pool_size, minsize=1,
            # READ COMMITTED takes no gap locks on plain searches: concurrent transactions that
            # insert new rows next to each other (documents, outbox rows, bindings) no longer
            # deadlock on the index gap. Every read-modify-write here locks its rows explicitly.
            init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
        )
        self._pool: Any = None

    async def connect(self) -> None:
        try:
            self._pool = await aiomysql.create_pool(**self._kwargs)
        except pymysql.err.MySQLError as exc:
            raise StorageError("cannot connect to MySQL") from exc
        except OSError as exc:
            raise StorageError("cannot connect to MySQL") from exc

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    async def _run(self, method: str, sql: str, params: Params) -> Any:
        if self._pool is None:
            raise StorageError("storage is closed")
        for attempt in (0, 1):
            try:
                async with self._pool.acquire() as conn:
                    return await getattr(_Conn(conn), method)(sql, params)
            except StorageError as exc:
                cause = exc.__cause__
                code = cause.args[0] if isinstance(cause, pymysql.err.MySQLError) and cause.args else None
                if attempt == 0 and code in _GONE:
                    continue
                raise
            except OSError as exc:
                if attempt == 0:
                    continue
                raise StorageError("database unreachable") from exc
        raise StorageError("database unreachable")

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._run("fetchall", sql, params)  # type: ignore[no-any-return]

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        return await self._run("execute", sql, params)  # type: ignore[no-any-return]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        if self._pool is None:
            raise StorageError("storage is closed")
        try:
            async with self._pool.acquire() as conn:
                await conn.begin()
                try:
                    yield _Conn(conn)
                except BaseException:
                    await conn.rollback()
                    raise
                await conn.commit()
        except pymysql.err.MySQLError as exc:
            raise _wrap(exc) from exc
        except OSError as exc:
            raise StorageError("database unreachable") from exc

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[Executor]:
        """A named server lock so two processes starting at once migrate one after the other."""
        if self._pool is None:
            raise StorageError("storage is closed")
        async with self._pool.acquire() as conn:
            ex = _Conn(conn)
            got = await ex.fetchone("SELECT GET_LOCK('gateway_migrations', 60) AS got")
            if not got or got["got"] != 1:
                raise StorageError("could not take the migration lock")
            try:
                yield ex
            finally:
                await ex.fetchall("SELECT RELEASE_LOCK('gateway_migrations')")

    async def ping(self) -> None:
        await asyncio.wait_for(self.fetchval("SELECT 1"), timeout=2)
