"""Opens the storage named by `[storage] url`: sqlite:///relative.db, sqlite:////abs.db or mysql://…"""
from __future__ import annotations

from gateway.storage.base import DuplicateKey, Executor, ExecResult, Row, Storage, StorageError, TransientConflict, Unreachable

__all__ = ["DuplicateKey", "Executor", "ExecResult", "Row", "Storage", "StorageError", "TransientConflict",
           "Unreachable", "open_storage"]


def open_storage(url: str, query_timeout: float = 5.0) -> Storage:
    """`query_timeout` bounds every MySQL statement (SQLite answers from this machine's disk)."""
    if url.startswith("sqlite:///"):
        from gateway.storage.sqlite import SqliteStorage
        return SqliteStorage(url[len("sqlite:///"):] or ":memory:")
    if url.startswith("mysql://"):
        from gateway.storage.mysql import MysqlStorage
        return MysqlStorage(url, query_timeout=query_timeout)
    raise ValueError("[storage] url must start with sqlite:/// or mysql://")
