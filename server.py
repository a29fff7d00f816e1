"""Entry point: load settings, build the gateway and its application, and serve
(`--processes N` forks N workers on one port; `--demo` adds the simulator and a demo tenant)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import warnings
from typing import Any, Coroutine

import tornado.httpserver
import tornado.netutil
import uvloop

from gateway.platform.config import SettingsError, ensure_secrets, is_embedded, load_settings
from gateway.root import Gateway
from gateway.platform.logging_setup import setup_logging
from gateway.platform.process_manager import fork_workers
from handlers.app import make_app

log = logging.getLogger("gateway")
# aiomysql reports "CREATE TABLE IF NOT EXISTS" on an existing table as a warning.
warnings.filterwarnings("ignore", message="Table 'schema_migrations' already exists")
MAX_BODY_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 10.0  # requests running at SIGTERM get this long to finish


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Multi-tenant WeChat service-account gateway")
    parser.add_argument("--config", help="settings file (default: settings.toml)")
    parser.add_argument("--port", type=int, help="port to listen on (overrides [server] port)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (MySQL + Redis only)")
    parser.add_argument("--demo", action="store_true", help="start the simulator and a demo tenant too")
    return parser.parse_args(argv)


async def serve(gw: Gateway, sockets: list, demo: bool) -> None:
    await gw.start()
    app = make_app(gw)
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY_BYTES, idle_connection_timeout=75,
                                           body_timeout=30, xheaders=False)
    server.add_sockets(sockets)
    if gw.settings.generated_operator_token:
        print(f"Operator token (shown once, also in {gw.settings.var_path}/operator_token): "
              f"{gw.settings.security.operator_token}", flush=True)
    if demo:
        from simulator.demo import start_demo
        await start_demo(gw)
    print(f"Gateway listening on {gw.settings.server.host}:{gw.settings.server.port} "
          f"(public URL {gw.public_url})", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await shut_down(gw, server)


async def shut_down(gw: Gateway, server: tornado.httpserver.HTTPServer) -> None:
    """SECURITY.md §4: stop accepting, let running requests finish (with a deadline), close the
    connections, then stop the gateway (workers after their batch, then the pools): closing the pools
    first would fail the requests still running."""
    gw.draining = True
    server.stop()
    if not await gw.inflight.wait_idle(DRAIN_SECONDS):
        log.warning("%d request(s) still running after %.0f s; closing their connections", gw.inflight.count,
                    DRAIN_SECONDS)
    try:
        await asyncio.wait_for(server.close_all_connections(), timeout=5)
    except asyncio.TimeoutError:
        log.warning("connections not all closed in time")
    finally:
        await gw.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging()
    try:
        settings = load_settings(args.config)
        if args.port:
            if settings.server.public_url == f"http://{settings.server.host}:{settings.server.port}":
                settings.server.public_url = f"http://{settings.server.host}:{args.port}"
            settings.server.port = args.port
        if args.demo and not os.environ.get("GATEWAY_SERVER_PUBLIC_URL"):
            settings.server.public_url = f"http://{settings.server.host}:{settings.server.port}"
        if args.demo:  # the demo's business system receives its webhooks on this machine
            settings.security.allow_private_webhooks = True
        if args.demo and not settings.component.app_id:  # the demo shows 授权接入 too (a simulated platform)
            settings.component.app_id, settings.component.app_secret = "wxdemoplatform0001", "demoPlatformSecret2026"
        if args.processes > 1 and is_embedded(settings):
            raise SettingsError("--processes needs shared storage and cache: set [storage] url to mysql://… and "
                                "[cache] url to redis://… (SQLite and memory:// serve one process only)")
        ensure_secrets(settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sockets = tornado.netutil.bind_sockets(settings.server.port, settings.server.host)
    if args.processes > 1:
        task_id = fork_workers(args.processes, sockets)
        settings.generated_operator_token = settings.generated_operator_token and task_id == 0
    run_loop(serve(Gateway(settings), sockets, args.demo), settings.server.event_loop)
    return 0


def run_loop(main: Coroutine[Any, Any, None], event_loop: str) -> None:
    """asyncio.run on uvloop's event loop (the default) or asyncio's own."""
    if event_loop == "uvloop":
        uvloop.run(main)
    else:
        asyncio.run(main)


if __name__ == "__main__":
    sys.exit(main())
