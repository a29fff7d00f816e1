"""The storage interface every back end implements: parameterised SQL with `?`
placeholders, rows as dicts, and short explicit transactions."""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
import asyncio
import random
from typing import Any, Awaitable, Callable, Sequence, TypeVar

Row = dict[str, Any]
T = TypeVar("T")
Params = Sequence[Any]


class StorageError(Exception):
    """The database failed or could not be reached."""


class Unreachable(StorageError):
    """No connection to the database could be had, so nothing was sent."""


class DuplicateKey(StorageError):
    """An insert or update hit a unique key."""


class TransientConflict(StorageError):
    """A deadlock or lock-wait timeout: the whole transaction may simply be run again."""


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

    async def retrying(self, work: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
        """Run `work` (which opens its own transaction), again after a deadlock or lock-wait timeout."""
        for attempt in range(1, attempts + 1):
            try:
                return await work()
            except TransientConflict:
                if attempt == attempts:
                    raise
                await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)
        raise AssertionError("unreachable")

    @abstractmethod
    def migration_lock(self) -> AbstractAsyncContextManager[Executor]:
        """Held while migrating, so two processes starting at once migrate one after the other."""

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
