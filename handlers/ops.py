"""Operations endpoints: liveness, readiness naming the back end that is down, Prometheus
metrics, and the tenants' MP_verify domain-verification files. With `[server] ops_restricted`
the metrics and readiness details are only for the operator token or the listed scrapers."""
from __future__ import annotations

import hmac
import os

import tornado.web

from gateway.accounts.client_ip import client_ip, ip_in
from handlers.base import BaseHandler, JsonHandler


def is_operator(handler: BaseHandler) -> bool:
    scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), handler.gw.settings.security.operator_token.encode())


def ops_allowed(handler: BaseHandler) -> bool:
    """May this request see metrics and readiness details?"""
    server = handler.gw.settings.server
    if not server.ops_restricted or is_operator(handler):
        return True
    ip = client_ip(handler.request.remote_ip or "", handler.request.headers, server.trusted_proxies,
                   server.client_ip_header)
    return ip_in(ip, server.ops_scrapers)


class HealthHandler(JsonHandler):
    async def get(self) -> None:
        # The process id only for the operator (it tells which worker of --processes answered).
        self.write_json({"status": "ok", "pid": os.getpid()} if is_operator(self) else {"status": "ok"})


class ReadyHandler(JsonHandler):
    async def get(self) -> None:
        checks = await self.gw.readiness()
        down = [name for name, status in checks.items() if status != "ok"]
        # Only what stops this process from serving takes it out of the balancer: storage down, or
        # shutting down. Callbacks and PUTs keep working through a cache outage (degraded).
        serving = checks["storage"] == "ok" and "server" not in checks
        body: dict[str, object] = {"status": "ok" if not down else ("degraded" if serving else "down")}
        if ops_allowed(self):
            body.update(checks=checks, down=down)
        self.write_json(body, status=200 if serving else 503)


class MetricsHandler(JsonHandler):
    route_name = "metrics"

    async def get(self) -> None:
        if not ops_allowed(self):
            self.set_header("WWW-Authenticate", "Bearer")
            raise tornado.web.HTTPError(401, "the metrics need the operator token or a listed scraper address")
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
