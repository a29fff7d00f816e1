"""Operations endpoints: liveness, readiness naming the back end that is down, Prometheus
metrics, and the tenants' MP_verify domain-verification files."""
from __future__ import annotations

import os

import tornado.web

from handlers.base import BaseHandler, JsonHandler


class HealthHandler(JsonHandler):
    async def get(self) -> None:
        self.write_json({"status": "ok", "pid": os.getpid()})


class ReadyHandler(JsonHandler):
    async def get(self) -> None:
        checks = await self.gw.readiness()
        down = [name for name, status in checks.items() if status != "ok"]
        # Only what stops this process from serving takes it out of the balancer: storage down, or
        # shutting down. Callbacks and PUTs keep working through a cache outage (degraded).
        serving = checks["storage"] == "ok" and "server" not in checks
        status = "ok" if not down else ("degraded" if serving else "down")
        self.write_json({"status": status, "checks": checks, "down": down}, status=200 if serving else 503)


class MetricsHandler(BaseHandler):
    route_name = "metrics"

    async def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(await self.gw.metrics.render())


class VerifyFileServeHandler(BaseHandler):
    async def get(self, code: str) -> None:
        content = await self.gw.registry.verify_file(f"MP_verify_{code}.txt")
        if content is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(content)


ROUTES = [
    (r"/healthz", HealthHandler),
    (r"/readyz", ReadyHandler),
    (r"/metrics", MetricsHandler),
    (r"/MP_verify_([A-Za-z0-9]{1,64})\.txt", VerifyFileServeHandler),
]
