"""Start the simulator inside a running event loop, or alone via `python -m simulator`."""

from __future__ import annotations

import argparse
import asyncio
import logging

import tornado.httpserver
import tornado.netutil

from simulator.app import make_app
from simulator.state import SimulatorState

log = logging.getLogger("simulator")


async def start_simulator(
    port: int = 0,
    host: str = "127.0.0.1",
    state: SimulatorState | None = None,
) -> tuple[SimulatorState, tornado.httpserver.HTTPServer, int]:
    """Listen on host:port (0 picks a free port) and return the state, the server and the bound port."""
    state = state or SimulatorState()
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(make_app(state))
    server.add_sockets(sockets)
    return state, server, sockets[0].getsockname()[1]


async def _serve(host: str, port: int) -> None:
    _, server, bound = await start_simulator(port, host)
    log.info("WeChat simulator on http://%s:%d (api_base and oauth_base; control API under /_sim/)", host, bound)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Local stand-in for WeChat's servers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9009)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(_serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
