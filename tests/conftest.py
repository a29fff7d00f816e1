"""Test set-up: coroutine tests run on their own event loop, and the back-end pair comes
from GATEWAY_TEST_BACKEND (embedded: SQLite + memory; mysql: MariaDB + Redis)."""
from __future__ import annotations

import asyncio
import inspect
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        kwargs = {name: pyfuncitem.funcargs[name] for name in names}
        asyncio.run(asyncio.wait_for(pyfuncitem.obj(**kwargs), timeout=120))
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mysql_only: needs MariaDB and Redis")
    config.addinivalue_line("markers", "browser: drives headless Chromium")


@pytest.fixture
def backend() -> str:
    return os.environ.get("GATEWAY_TEST_BACKEND", "embedded")


@pytest.fixture
def env(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    from harness import TestEnv
    return TestEnv(tmp_path, backend)
