"""Ops endpoints and process start: healthz, readyz naming what is down, Prometheus
metrics, first-start secrets printed once, --processes refused on the embedded default."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.cache import CacheError
from gateway.storage import StorageError
from harness import free_port

ROOT = Path(__file__).resolve().parent.parent


async def test_health_ready_metrics(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        r = await g.request("GET", "/healthz")
        assert r.status == 200
        r = await g.request("GET", "/readyz")
        assert r.status == 200 and r.json["checks"] == {"storage": "ok", "cache": "ok"}
        r = await g.request("GET", "/metrics")
        assert r.status == 200
        assert "gateway_request_seconds" in r.text and "gateway_callbacks_total" in r.text
        assert r.headers["Content-Type"].startswith("text/plain")


async def test_readyz_names_the_back_end_that_is_down(env):
    async with env.gateway() as g:
        async def broken_cache() -> None:
            raise CacheError("down")
        g.gw.cache.ping = broken_cache
        r = await g.request("GET", "/readyz")
        # Callbacks and PUTs work through a cache outage: reported, but the process stays in service.
        assert r.status == 200 and r.json["down"] == ["cache"] and r.json["status"] == "degraded"

        async def broken_storage() -> None:
            raise StorageError("down")
        g.gw.storage.ping = broken_storage
        r = await g.request("GET", "/readyz")
        assert r.status == 503 and set(r.json["down"]) == {"storage", "cache"}


async def test_storage_failure_is_503_without_details(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")

        async def boom(*args, **kwargs):
            raise StorageError("SELECT secret FROM tenants -- driver text")
        g.gw.storage.fetchall = boom
        r = await g.admin("GET", "/admin/api/tenants/acme/audit")
        assert r.status == 503 and r.json["error"]["code"] == "unavailable"
        assert "SELECT" not in r.text


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({"GATEWAY_SERVER_VAR_DIR": str(tmp_path / "var"),
                "GATEWAY_STORAGE_URL": f"sqlite:///{tmp_path}/gw.db", "GATEWAY_CACHE_URL": "memory://"})
    env.update(extra)
    return env


def _wait_ready(port: int, proc: subprocess.Popen) -> None:
    import urllib.request
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gateway did not become ready")


def test_first_start_prints_operator_token_once(tmp_path, backend):
    if backend != "embedded":
        pytest.skip("process start is checked on the embedded default")
    outputs = []
    for _ in range(2):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "server.py", "--port", str(port)], cwd=ROOT,
                                env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            _wait_ready(port, proc)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out
        outputs.append(out)
    token = (tmp_path / "var" / "operator_token").read_text().strip()
    assert token in outputs[0]
    assert "Operator token" not in outputs[1] and token not in outputs[1]
    assert oct((tmp_path / "var" / "operator_token").stat().st_mode & 0o777) == "0o600"


def test_processes_refused_on_embedded_default(tmp_path):
    proc = subprocess.run([sys.executable, "server.py", "--processes", "2", "--port", str(free_port())],
                          cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "mysql" in proc.stderr and "redis" in proc.stderr


def test_processes_fork_workers_and_stop_cleanly(tmp_path, env, backend):
    if backend != "mysql":
        pytest.skip("--processes needs MariaDB + Redis")
    import asyncio
    import json
    import signal
    import urllib.request
    asyncio.run(env.ensure_database())
    settings = env.settings()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "server.py", "--processes", "2", "--port", str(port)], cwd=ROOT,
                            env=_env(tmp_path, GATEWAY_STORAGE_URL=settings.storage.url,
                                     GATEWAY_CACHE_URL=settings.cache.url),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_ready(port, proc)
        pids = set()
        for _ in range(200):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                pids.add(json.loads(resp.read())["pid"])
            if len(pids) == 2:
                break
            time.sleep(0.05)  # the second worker may still be starting (migrations wait on one lock)
        assert len(pids) == 2, "both workers answer on the one port"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if proc.poll() is None:
            proc.kill()
        asyncio.run(env.drop_database())
