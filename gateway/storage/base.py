"""The storage interface every back end implements: parameterised SQL with `?`
placeholders, rows as dicts, and short explicit transactions."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Sequence

Row = dict[str, Any]
Params = Sequence[Any]


class StorageError(Exception):
    """The database failed or could not be reached."""


class DuplicateKey(StorageError):
    """An insert or update hit a unique key."""


@dataclass
class ExecResult:
    rowcount: int
    lastrowid: int | None


class Executor(ABC):
    """Something SQL can run on: the storage itself (autocommit) or an open transaction."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> ExecResult: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else next(iter(row.values()))


class Storage(Executor):
    dialect: str = ""

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Executor]: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def migration_lock(self) -> AbstractAsyncContextManager[Executor]: ...

    # Dialect helpers, so stores can write one statement for both back ends.
    @property
    def insert_ignore(self) -> str:
        return "INSERT IGNORE" if self.dialect == "mysql" else "INSERT OR IGNORE"

    @property
    def skip_locked(self) -> str:
        return " FOR UPDATE SKIP LOCKED" if self.dialect == "mysql" else ""

    @property
    def for_update(self) -> str:
        return " FOR UPDATE" if self.dialect == "mysql" else ""
