"""One versioned schema migration: its version (each part of the product owns a range), a name,
and its statements written with type tokens ({pk}, {key}, {text}, …) for both dialects."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
