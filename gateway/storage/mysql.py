"""MySQL/MariaDB storage (aiomysql): a pool of autocommit connections, short explicit
transactions, and one retry of a plain statement only when it certainly did not run (or is a
read). Every driver, socket or timeout error leaves this module as a StorageError."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, TypeVar
from urllib.parse import unquote, urlparse

import aiomysql
import pymysql

from gateway.storage.base import (DuplicateKey, Executor, ExecResult, Params, Row, Storage, StorageError,
                                  TransientConflict, Unreachable)

# Errors from the driver or the socket under it (asyncio.TimeoutError is an OSError on 3.11).
_DRIVER_ERRORS = (pymysql.err.MySQLError, OSError, asyncio.TimeoutError)
# The statement never reached the server: cannot connect / server gone before sending.
_NOT_SENT = {2003, 2006, 2055}
# Lost during the query: the server may have run the statement, so only a read may run again.
_LOST = {2013}
_TRANSIENT = {1213, 1205}  # deadlock, lock wait timeout
T = TypeVar("T")


def _sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def error_code(exc: BaseException) -> int | None:
    """The MySQL error number behind `exc` (a driver error or a StorageError made from one)."""
    cause = exc.__cause__ if isinstance(exc, StorageError) else exc
    if isinstance(cause, pymysql.err.MySQLError) and cause.args and isinstance(cause.args[0], int):
        return cause.args[0]
    return None


def _wrap(exc: BaseException) -> StorageError:
    code = error_code(exc)
    if isinstance(exc, pymysql.err.IntegrityError) and code == 1062:
        return DuplicateKey("duplicate key")
    if code in _TRANSIENT:
        return TransientConflict("transaction conflict")
    if code in _NOT_SENT or code in _LOST or isinstance(exc, (OSError, pymysql.err.InterfaceError)):
        return StorageError("database unreachable")
    return StorageError("database error")


def _safe_to_repeat(cause: BaseException | None, read_only: bool) -> bool:
    """Whether a statement that failed with the driver error `cause` may simply run again."""
    # InterfaceError: the connection was already closed when the statement was about to be sent.
    if isinstance(cause, pymysql.err.InterfaceError) or (cause is not None and error_code(cause) in _NOT_SENT):
        return True
    return read_only and cause is not None and (error_code(cause) in _LOST or isinstance(cause, OSError))


def _retryable(exc: StorageError, read_only: bool) -> bool:
    if isinstance(exc, QueryTimeout):
        return False  # a frozen server would only hold the caller twice as long
    return isinstance(exc, Unreachable) or _safe_to_repeat(exc.__cause__, read_only)


def _is_read(method: str, sql: str) -> bool:
    return method == "fetchall" and sql.lstrip()[:6].upper() == "SELECT" and "FOR UPDATE" not in sql.upper()


class QueryTimeout(StorageError):
    """The server did not answer in time: the statement may have run, so it is never run again."""


class _Conn(Executor):
    def __init__(self, conn: Any, timeout: float) -> None:
        self._conn, self._timeout = conn, timeout

    async def _bounded(self, work: Awaitable[T]) -> T:
        """`work` within the query timeout; a connection that overran is closed (its state is
        unknown), so the pool never hands it out again."""
        try:
            return await asyncio.wait_for(work, self._timeout)
        except asyncio.TimeoutError:
            self._conn.close()
            raise QueryTimeout("database did not answer in time") from None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async def run() -> list[Row]:
            async with self._conn.cursor(aiomysql.DictCursor) as cur:
                await cur.execute(_sql(sql), tuple(params))
                return list(await cur.fetchall())
        try:
            return await self._bounded(run())
        except _DRIVER_ERRORS as exc:
            raise _wrap(exc) from exc

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        async def run() -> ExecResult:
            async with self._conn.cursor() as cur:
                await cur.execute(_sql(sql), tuple(params))
                return ExecResult(cur.rowcount, cur.lastrowid)
        try:
            return await self._bounded(run())
        except _DRIVER_ERRORS as exc:
            raise _wrap(exc) from exc


class MysqlStorage(Storage):
    dialect = "mysql"

    def __init__(self, url: str, pool_size: int = 10, query_timeout: float = 5.0) -> None:
        parsed = urlparse(url)
        self.query_timeout = query_timeout
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
        except _DRIVER_ERRORS as exc:
            raise StorageError("cannot connect to MySQL") from exc

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
            self._pool = None

    async def _acquire(self) -> Any:
        """A pooled connection (the pool drops dead ones); failing to get one raises Unreachable."""
        if self._pool is None:
            raise StorageError("storage is closed")
        try:
            return await asyncio.wait_for(self._pool.acquire(), self.query_timeout)
        except asyncio.TimeoutError as exc:
            raise QueryTimeout("no database connection in time") from exc
        except _DRIVER_ERRORS as exc:
            raise Unreachable("database unreachable") from exc

    async def _release(self, conn: Any) -> None:
        if self._pool is not None:
            await self._pool.release(conn)
        else:
            conn.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        conn = await self._acquire()
        try:
            yield conn
        finally:
            await self._release(conn)

    async def _begin(self) -> Any:
        """A connection inside a new transaction. Nothing of the transaction has run yet, so a
        connection found dead at BEGIN is replaced once."""
        for attempt in (0, 1):
            try:
                conn = await self._acquire()
            except Unreachable:
                if attempt == 1:
                    raise
                continue
            try:
                await asyncio.wait_for(conn.begin(), self.query_timeout)
                return conn
            except _DRIVER_ERRORS as exc:
                conn.close()
                await self._release(conn)
                # A transaction cut off at BEGIN is rolled back by the server: BEGIN may run again.
                if attempt == 1 or isinstance(exc, TimeoutError) or not _safe_to_repeat(exc, read_only=True):
                    raise _wrap(exc) from exc
        raise AssertionError("unreachable")

    async def _run(self, method: str, sql: str, params: Params) -> Any:
        read_only = _is_read(method, sql)
        for attempt in (0, 1):
            try:
                async with self._connection() as conn:
                    return await getattr(_Conn(conn, self.query_timeout), method)(sql, params)
            except StorageError as exc:
                if attempt == 0 and _retryable(exc, read_only):
                    continue
                raise
        raise AssertionError("unreachable")

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._run("fetchall", sql, params)  # type: ignore[no-any-return]

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        return await self._run("execute", sql, params)  # type: ignore[no-any-return]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        conn = await self._begin()
        try:
            try:
                yield _Conn(conn, self.query_timeout)
            except BaseException:
                try:
                    await asyncio.wait_for(conn.rollback(), self.query_timeout)
                except _DRIVER_ERRORS:
                    conn.close()  # the server rolls back a transaction whose connection is gone
                raise
            try:
                await asyncio.wait_for(conn.commit(), self.query_timeout)
            except _DRIVER_ERRORS as exc:
                conn.close()
                raise _wrap(exc) from exc
        finally:
            await self._release(conn)

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[Executor]:
        """A named server lock so two processes starting at once migrate one after the other."""
        async with self._connection() as conn:
            ex = _Conn(conn, max(self.query_timeout, 65.0))  # GET_LOCK waits up to 60 s
            got = await ex.fetchone("SELECT GET_LOCK('gateway_migrations', 60) AS got")
            if not got or got["got"] != 1:
                raise StorageError("could not take the migration lock")
            try:
                yield ex
            finally:
                try:
                    await ex.fetchall("SELECT RELEASE_LOCK('gateway_migrations')")
                except StorageError:
                    conn.close()  # the server releases the lock with the connection

    async def ping(self) -> None:
        try:
            await asyncio.wait_for(self.fetchval("SELECT 1"), timeout=2)
        except asyncio.TimeoutError as exc:
            raise StorageError("database did not answer in time") from exc
