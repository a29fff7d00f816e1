"""Graceful shutdown of a real server process (SECURITY.md §4 and §7): on SIGTERM it stops accepting
connections, lets the requests already running finish, then closes connections and pools, exit 0."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from harness import OPERATOR_TOKEN, Client, free_port, tenant_body, wait_for

ROOT = Path(__file__).resolve().parent.parent
WECHAT_DELAY = 2.0


class SlowWeChat:
    """A WeChat API stand-in that takes WECHAT_DELAY seconds to hand out an access_token."""

    def __init__(self) -> None:
        self.calls = 0
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        stand_in = self

        class Token(tornado.web.RequestHandler):
            async def get(self, path: str) -> None:
                stand_in.calls += 1
                await asyncio.sleep(WECHAT_DELAY)
                self.write({"access_token": "T" * 32, "expires_in": 7200})

            post = get

        self.server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/(.*)", Token)]))
        self.server.add_sockets(sockets)


async def _refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except (ConnectionRefusedError, ConnectionResetError):
        return True  # a reset: the connection reached the backlog of the socket just closed
    writer.close()
    return False


async def _exit_code(proc: subprocess.Popen[Any], timeout: float) -> int | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while proc.poll() is None and loop.time() < deadline:
        await asyncio.sleep(0.1)
    return proc.poll()


async def test_sigterm_finishes_running_requests_then_exits_0(tmp_path, backend):
    if backend != "embedded":
        pytest.skip("process shutdown is checked on the embedded default")
    wechat = SlowWeChat()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({"GATEWAY_SERVER_VAR_DIR": str(tmp_path / "var"),
                "GATEWAY_STORAGE_URL": f"sqlite:///{tmp_path}/gw.db", "GATEWAY_CACHE_URL": "memory://",
                "GATEWAY_SECURITY_OPERATOR_TOKEN": OPERATOR_TOKEN,
                "GATEWAY_WECHAT_API_BASE": f"http://127.0.0.1:{wechat.port}"})
    proc = subprocess.Popen([sys.executable, "server.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = Client(f"http://127.0.0.1:{port}")
    try:
        async def ready() -> bool:
            assert proc.poll() is None, "the server exited early"
            try:
                return (await client.request("GET", "/readyz")).status == 200
            except OSError:
                return False
        await wait_for(ready, timeout=30, every=0.2)
        r = await client.request("POST", "/admin/api/tenants", tenant_body("acme"), token=OPERATOR_TOKEN)
        assert r.status == 201, r.text

        # The checklist probes the credentials: it waits WECHAT_DELAY s for an access_token.
        running = asyncio.ensure_future(
            client.request("GET", "/admin/api/tenants/acme/checklist", token=OPERATOR_TOKEN))
        await wait_for(lambda: wechat.calls, timeout=10, every=0.02)
        proc.send_signal(signal.SIGTERM)

        await wait_for(lambda: _refused(port), timeout=WECHAT_DELAY / 2, every=0.05)
        assert not running.done()  # still being served after the listener closed
        response = await running
        assert response.status == 200, response.text
        assert response.json["steps"]
        assert await _exit_code(proc, timeout=20) == 0
    finally:
        client.close()
        wechat.server.stop()
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate(timeout=10)[0]
    assert "Traceback" not in output, output
