"""Shared benchmark plumbing: an in-process gateway on the embedded default (or MariaDB +
Redis via GATEWAY_BENCH_STORAGE_URL / GATEWAY_BENCH_CACHE_URL), a load loop with bounded
concurrency, and ratio reporting against a baseline measured in the same run."""
from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable

import tornado.httpclient
import tornado.httpserver
import tornado.netutil

from gateway.platform.config import ensure_secrets, load_settings
from gateway.root import Gateway
from handlers.app import make_app

OPERATOR = "op_bench_" + "x" * 24


@asynccontextmanager
async def running_gateway(port: int = 0, **sections: dict) -> AsyncIterator[tuple[Gateway, str]]:
    tmp = tempfile.mkdtemp(prefix="gw-bench-")
    overrides = {"server": {"var_dir": f"{tmp}/var"}, "security": {"operator_token": OPERATOR},
                 "storage": {"url": os.environ.get("GATEWAY_BENCH_STORAGE_URL", f"sqlite:///{tmp}/gw.db")},
                 "cache": {"url": os.environ.get("GATEWAY_BENCH_CACHE_URL", "memory://")}}
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    settings = ensure_secrets(load_settings(env={}, overrides=overrides))
    gw = Gateway(settings)
    await gw.start()
    sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(make_app(gw))
    server.add_sockets(sockets)
    try:
        yield gw, f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    finally:
        server.stop()
        await gw.stop()


async def load(make_request: Callable[[int], Awaitable[None]], total: int, concurrency: int) -> list[float]:
    """Run `total` requests, `concurrency` at a time; returns each request's latency in seconds."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await make_request(i)
            latencies.append(time.perf_counter() - started)
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def summary(name: str, latencies: list[float], wall: float, baseline: float | None = None) -> float:
    rate = len(latencies) / wall
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1]
    ratio = f"  {baseline / rate:5.2f}x the baseline's cost per request" if baseline else "  (baseline)"
    print(f"{name:34s} {rate:8.0f} req/s  median {statistics.median(latencies) * 1000:6.1f} ms"
          f"  p99 {p99 * 1000:6.1f} ms{ratio}")
    return rate


def client() -> tornado.httpclient.AsyncHTTPClient:
    return tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=64)
