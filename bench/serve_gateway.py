"""The gateway as a benchmark target: one process on the embedded default (or the back ends named
by GATEWAY_BENCH_STORAGE_URL / GATEWAY_BENCH_CACHE_URL), logging as in production, on the port
given; prints READY once listening and runs until SIGTERM. It runs on uvloop, as server.py does
by default; BENCH_EVENT_LOOP=asyncio runs it on asyncio's own loop.
BENCH_GATEWAY_SETTINGS (JSON, {"section": {"key": value}}) overrides settings.
    python bench/serve_gateway.py PORT"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import running_gateway  # noqa: E402
from gateway.platform.logging_setup import setup_logging  # noqa: E402


async def main(port: int) -> None:
    setup_logging()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    sections = {"delivery": {"tenant_rate_per_second": 100000}}
    for name, values in json.loads(os.environ.get("BENCH_GATEWAY_SETTINGS", "{}")).items():
        sections.setdefault(name, {}).update(values)
    async with running_gateway(port, **sections):
        print("READY", flush=True)
        await stop.wait()


if __name__ == "__main__":
    if os.environ.get("BENCH_EVENT_LOOP", "uvloop") == "uvloop":
        uvloop.run(main(int(sys.argv[1])))
    else:
        asyncio.run(main(int(sys.argv[1])))
