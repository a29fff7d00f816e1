"""Two real gateway processes on MariaDB + Redis: 200 concurrent JS-SDK signatures split across
them cost WeChat exactly one access_token fetch and one ticket fetch."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from tornado.httpclient import AsyncHTTPClient

from gateway.wechat.crypto import jssdk_signature
from harness import OPERATOR_TOKEN, Client, free_port, tenant_body
from wechat_env import Simulator

pytestmark = [
    pytest.mark.mysql_only,
    pytest.mark.skipif(os.environ.get("GATEWAY_TEST_BACKEND") != "mysql",
                       reason="needs MariaDB and Redis (GATEWAY_TEST_BACKEND=mysql)"),
]

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = "https://gw.example.test"  # the same for both processes; --port would not rewrite it
CALLS = 200


async def wait_for(client: Client, path: str, status: int = 200, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            r = await client.request("GET", path, token=OPERATOR_TOKEN)
            if r.status == status:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{client.base_url}{path} did not answer {status} in {seconds} s")
        await asyncio.sleep(0.1)


async def test_two_processes_fetch_once_for_200_concurrent_calls(env, tmp_path):
    await env.ensure_database()
    settings = env.settings()
    sim = await Simulator().start()
    state, sim_url = sim.state, sim.url
    await sim.add_tenant_app("acme")
    process_env = {
        **os.environ,
        "GATEWAY_STORAGE_URL": settings.storage.url,
        "GATEWAY_CACHE_URL": settings.cache.url,
        "GATEWAY_WECHAT_API_BASE": sim_url,
        "GATEWAY_WECHAT_OAUTH_BASE": sim_url,
        "GATEWAY_SECURITY_OPERATOR_TOKEN": OPERATOR_TOKEN,
        "GATEWAY_SECURITY_MASTER_KEY": secrets.token_hex(32),
        "GATEWAY_SECURITY_SESSION_KEY": secrets.token_hex(32),
        "GATEWAY_SERVER_VAR_DIR": str(tmp_path / "var"),
        "GATEWAY_SERVER_PUBLIC_URL": PUBLIC,
    }
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    clients = [Client(f"http://127.0.0.1:{port}") for port in ports]
    try:
        for port in ports:
            processes.append(subprocess.Popen(
                [sys.executable, "server.py", "--port", str(port)], cwd=ROOT, env=process_env,
                stdout=open(tmp_path / f"gw-{port}.log", "wb"), stderr=subprocess.STDOUT))
        for client in clients:
            await wait_for(client, "/healthz")
        r = await clients[0].request("POST", "/admin/api/tenants", tenant_body("acme"), token=OPERATOR_TOKEN)
        assert r.status == 201, r.text
        for client in clients:
            await wait_for(client, "/admin/api/tenants/acme")

        page = f"{PUBLIC}/wx/acme/doc/{{}}?from=menu"
        path = "/wx/acme/api/jssdk?url={}"
        # Slow fetches, so the calls of both processes pile up while the one fetch is under way.
        state.set_latency("cgi-bin/token", 0.3)
        state.set_latency("cgi-bin/ticket/getticket", 0.3)
        # One connection per call, so all 200 are in flight at once rather than queued.
        http = AsyncHTTPClient(force_instance=True, max_clients=CALLS)
        try:
            started = time.perf_counter()
            responses = await asyncio.gather(*(
                http.fetch(clients[i % 2].base_url + path.format(quote(page.format(i) + "#top", safe="")),
                           raise_error=False, request_timeout=60)
                for i in range(CALLS)))
            elapsed = time.perf_counter() - started
        finally:
            http.close()
        assert [r.code for r in responses] == [200] * CALLS, {r.code for r in responses}
        ticket = state.tokens.tickets[(tenant_body("acme")["wechat"]["app_id"], "jsapi")].value
        for i, response in enumerate(responses):
            body = json.loads(response.body)
            assert body["signature"] == jssdk_signature(ticket, body["nonceStr"], body["timestamp"],
                                                        page.format(i))
        assert state.call_count("cgi-bin/token") == 1
        assert state.call_count("cgi-bin/ticket/getticket") == 1
        issued = set(state.tokens.tokens) | {ticket}
        for port in ports:
            logged = (tmp_path / f"gw-{port}.log").read_text()
            assert not any(secret in logged for secret in issued)
            assert tenant_body("acme")["wechat"]["app_secret"] not in logged
        print(f"\n{CALLS} calls over 2 processes in {elapsed:.2f} s: "
              f"{state.call_count('cgi-bin/token')} token fetch, "
              f"{state.call_count('cgi-bin/ticket/getticket')} ticket fetch")
    finally:
        for client in clients:
            client.close()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        sim.stop()
        await env.drop_database()
