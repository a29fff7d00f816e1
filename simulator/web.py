"""Tornado handler base shared by the WeChat API paths and the /_sim/ control API."""

from __future__ import annotations

import json
from typing import Any

import tornado.httputil
import tornado.web

from simulator.state import SimulatorState


def query_dict(request: tornado.httputil.HTTPServerRequest) -> dict[str, str]:
    # WeChat reads the first value of a repeated parameter.
    return {k: v[0].decode("utf-8", "replace") for k, v in request.query_arguments.items() if v}


class BaseHandler(tornado.web.RequestHandler):
    def initialize(self, state: SimulatorState) -> None:
        self.state = state

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        # WeChat's own odd header, and raw UTF-8 rather than \u escapes.
        self.set_header("Content-Type", "application/json; encoding=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False).encode("utf-8"))
