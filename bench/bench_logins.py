"""Logins never slow callbacks: the gateway in its own process (both cores, as deployed), a paced
stream of safe-mode keyword callbacks (one every 10 ms, each waiting for its answer) measured at
idle and then during 50 concurrent POST /wx/{slug}/api/login at production scrypt cost (n=2^17,
each a wrong password: one full verify), each phone from its own IP (behind a trusted proxy).
Figures: callback p50/p99 during the logins as ratios to idle, measured in the same run, and
logins per second; every login must be answered 401 (none refused before hashing)."""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import tornado.httpclient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_callbacks import APP_ID, KEYWORD, ONE, REPLY, callbacks  # noqa: E402
from bench.bench_callbacks import tenant_body as safe_tenant_body  # noqa: E402
from bench.common import OPERATOR  # noqa: E402
from bench.phones import Api, Phone, Simulator, create_tenant, put_account, tenant_body  # noqa: E402
from bench.wrk import free_port, start_server, stop_server  # noqa: E402

SLUG = "bench-logins"
PHONES = int(os.environ.get("BENCH_LOGIN_PHONES", "50"))
ACCOUNTS = 5
GAP = 0.010
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "15"))  # long enough for a p99 of ~1,000 callbacks


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * fraction) - 1))]


async def callback_stream(base: str, stop: asyncio.Event) -> list[float]:
    """Callbacks one after the other, GAP apart, until `stop`; their latencies."""
    http = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=2)
    latencies: list[float] = []
    try:
        while not stop.is_set():
            for path, body in callbacks([(ONE, APP_ID)], 50):
                if stop.is_set():
                    break
                started = time.perf_counter()
                response = await http.fetch(base + path, method="POST", body=body, request_timeout=30)
                assert response.code == 200 and response.body.startswith(b"<xml>"), response.body
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(GAP)
    finally:
        http.close()
    return latencies


async def measure_while(base: str, work: "asyncio.Future[object]") -> list[float]:
    stop = asyncio.Event()
    stream = asyncio.ensure_future(callback_stream(base, stop))
    try:
        await work
    finally:
        stop.set()
    return await stream


def line(name: str, values: list[float]) -> str:
    return (f"{name:28s} callback p50 {statistics.median(values) * 1000:6.2f} ms  p99 "
            f"{percentile(values, 0.99) * 1000:7.2f} ms  ({len(values)} callbacks)")


async def main() -> int:
    sim = await Simulator().start()
    port = free_port()
    settings = {"wechat": sim.wechat(), "security": {"ip_login_failures": 1_000_000},
                "server": {"trusted_proxies": ["127.0.0.1"]}}
    gateway = start_server(["bench/serve_gateway.py", str(port)], pin=False,
                           env={**os.environ, "BENCH_GATEWAY_SETTINGS": json.dumps(settings)})
    base = f"http://127.0.0.1:{port}"
    try:
        api = Api(base, max_clients=PHONES + 4)
        await create_tenant(api, OPERATOR, safe_tenant_body(ONE, APP_ID))
        rules = {"rules": [{"match": "exact", "keyword": KEYWORD, "reply": REPLY}]}
        assert (await api.request("PUT", f"/admin/api/tenants/{ONE}/replies", rules, token=OPERATOR)).status == 200
        body = tenant_body(SLUG, policy={"max_login_failures": 100, "lockout_minutes": 15})
        key = await create_tenant(api, OPERATOR, body)
        app_id = await sim.add_app(body)
        logins = [f"user{i}" for i in range(ACCOUNTS)]
        for login in logins:
            await put_account(api, SLUG, key, login)  # hashed at production cost too
        phones = [Phone(api, SLUG, forwarded_for=f"198.51.{100 + i // 250}.{i % 250 + 1}") for i in range(PHONES)]
        await asyncio.gather(*(phone.oauth(sim.client, app_id, f"o_phone{i}") for i, phone in enumerate(phones)))

        idle = await measure_while(base, asyncio.ensure_future(asyncio.sleep(IDLE_SECONDS)))
        statuses: Counter[int] = Counter()

        async def attempt(i: int, phone: Phone) -> None:
            reply = await phone.login(logins[i % ACCOUNTS], f"wrong password {i}")
            statuses[reply.status] += 1

        started = time.perf_counter()
        busy = await measure_while(base, asyncio.gather(*(attempt(i, p) for i, p in enumerate(phones))))
        wall = time.perf_counter() - started
        api.close()
    finally:
        stop_server(gateway)
        sim.stop()
    print(f"{PHONES} concurrent sign-ins at production scrypt (n=2^17), gateway process on {os.cpu_count()} CPUs")
    print(line("idle", idle))
    print(line(f"during {PHONES} sign-ins", busy))
    print(f"during / idle: p50 {statistics.median(busy) / statistics.median(idle):.2f}x"
          f"  p99 {percentile(busy, 0.99) / percentile(idle, 0.99):.2f}x  (target: p99 within 2x)")
    answers = ", ".join(f"{count}x HTTP {status}" for status, count in sorted(statuses.items()))
    print(f"sign-ins: {sum(statuses.values())} in {wall:.1f} s = {sum(statuses.values()) / wall:.2f}/s ({answers})")
    return 0 if statuses == Counter({401: PHONES}) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
