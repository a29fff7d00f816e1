"""`--processes N` under faults (MariaDB + Redis only): a SIGTERM right after a worker was replaced
still stops everything, a worker that exits unasked (even with 0) is replaced, replacements back off
while every start fails, and at shutdown new connections are refused at once while running
requests finish."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness import TestEnv, free_port
from test_ops import _env, _wait_ready

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mysql_env(env: TestEnv, backend: str) -> Iterator[TestEnv]:
    if backend != "mysql":
        pytest.skip("--processes needs MariaDB + Redis")
    asyncio.run(env.ensure_database())
    yield env
    asyncio.run(env.drop_database())


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            found.update(int(p) for p in fh.read().split())
    return found


def wait_until(predicate: Any, timeout: float, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def start(tmp_path: Path, env: TestEnv, count: int = 2, **extra: str) -> tuple[subprocess.Popen[str], int]:
    settings = env.settings()
    port = free_port()
    given = {"GATEWAY_STORAGE_URL": settings.storage.url, "GATEWAY_CACHE_URL": settings.cache.url, **extra}
    proc = subprocess.Popen([sys.executable, "server.py", "--processes", str(count), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=_env(tmp_path, **given))
    return proc, port


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.kill()
    out, _ = proc.communicate(timeout=10)
    return out


def test_sigterm_right_after_a_worker_was_replaced_stops_everything(tmp_path, mysql_env):
    proc, port = start(tmp_path, mysql_env)
    try:
        _wait_ready(port, proc)
        for _ in range(2):
            workers = wait_until(lambda: len(children(proc.pid)) == 2 and children(proc.pid), 15)
            victim = sorted(workers)[0]
            os.kill(victim, signal.SIGKILL)
            # The replacement is forked about a second later; signal the master the moment it exists,
            # while the new worker is still importing and has no handler of its own yet.
            wait_until(lambda: (children(proc.pid) - workers), 10, every=0.002)
            if _ == 0:
                time.sleep(3)  # first round: let it start fully, then go again faster
                continue
            proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        for pid in workers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        stop(proc)


def _catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for the signal (the SigCgt mask of /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(mask & (1 << (signum - 1)))


def test_a_worker_exiting_unasked_is_replaced_even_with_status_0(tmp_path, mysql_env):
    proc, port = start(tmp_path, mysql_env)
    try:
        _wait_ready(port, proc)
        workers = wait_until(lambda: len(children(proc.pid)) == 2 and children(proc.pid), 15)
        victim = sorted(workers)[0]
        # A worker still starting has SIGTERM at its default (it dies by the signal): wait until it
        # catches SIGTERM, i.e. it is serving and drains when told.
        assert wait_until(lambda: _catches(victim, signal.SIGTERM), 20), "the worker never set its handlers"
        os.kill(victim, signal.SIGTERM)  # the worker drains and exits 0, but nobody asked the master
        replaced = wait_until(lambda: len(children(proc.pid)) == 2 and children(proc.pid) != workers
                              and children(proc.pid), 20)
        assert victim not in replaced
        _wait_ready(port, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        out = stop(proc)
    assert re.search(r"worker \d exited unasked \(0\)", out), out[-2000:]


def test_replacements_back_off_while_every_start_fails(tmp_path, mysql_env):
    dead = free_port()  # nothing listens here: every worker fails at start
    proc, _ = start(tmp_path, mysql_env, GATEWAY_STORAGE_URL=f"mysql://root@127.0.0.1:{dead}/nothing")
    try:
        time.sleep(8)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        out = stop(proc)
    restarts = re.findall(r"replacing it in (\d+) s", out)
    # 1 + 2 + 4 s of waiting fit in 8 s for each of the two workers (it was 123 restarts in 15 s).
    assert 2 <= len(restarts) <= 8, out[-3000:]
    assert {"1", "2"} <= set(restarts), restarts


def test_at_shutdown_new_connections_are_refused_while_running_requests_finish(tmp_path, mysql_env):
    import socket
    import threading
    proc, port = start(tmp_path, mysql_env)
    try:
        _wait_ready(port, proc)
        answers: list[int] = []

        def slow_request() -> None:  # /readyz of a worker waits on nothing: hold one by a slow body
            with socket.create_connection(("127.0.0.1", port)) as conn:
                conn.sendall(b"POST /wx/nobody/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
                time.sleep(1.5)
                conn.sendall(b"67890")
                answers.append(int(conn.recv(100).split()[1]))
        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)

        def refused() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except ConnectionRefusedError:
                return True
            return False
        wait_until(refused, 1.0)
        thread.join(timeout=10)
        assert answers == [404], "the request under way was answered"
        assert proc.wait(timeout=20) == 0
    finally:
        stop(proc)
