"""Runs real gateway processes-in-a-loop for tests: settings on a temporary directory, a
fresh MariaDB database and Redis key prefix per test, an HTTP server on a free loopback
port, and a small JSON client. Also the small pieces many tests share: request bodies for a
tenant and a document, polling until a condition holds, a free port, a webhook receiver.
(WeChat simulator wiring: wechat_env.py; a simulated phone and sign-in: phone.py.)"""
from __future__ import annotations

import asyncio
import inspect
import json
import os
import secrets
import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlparse

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web

from gateway.platform.clock import Clock
from gateway.platform.config import Settings, ensure_secrets, load_settings
from gateway.root import Gateway
from handlers.app import make_app

OPERATOR_TOKEN = "op_test_" + "x" * 24


@dataclass
class Response:
    status: int
    body: bytes
    headers: Any

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Client:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = tornado.httpclient.AsyncHTTPClient(force_instance=True)

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                      token: str | None = None, raw: bytes | None = None, follow: bool = False) -> Response:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        data: bytes | None = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if data is None and method in ("POST", "PUT", "PATCH"):
            data = b""
        response = await self.http.fetch(self.base_url + path, method=method, body=data, headers=hdrs,
                                         raise_error=False, follow_redirects=follow,
                                         allow_nonstandard_methods=True, request_timeout=60)
        return Response(response.code, response.body or b"", response.headers)

    def close(self) -> None:
        self.http.close()


def tenant_body(slug: str = "acme", **overrides: Any) -> dict[str, Any]:
    """A valid creation body; app_id derived from the slug so tenants never collide."""
    app_id = "wx" + (slug.encode().hex() + "0" * 16)[:16]
    body: dict[str, Any] = {
        "slug": slug, "name": f"{slug} 制造",
        "wechat": {"app_id": app_id, "app_secret": "s3cretAppSecret" + slug.replace("-", ""),
                   "token": "tok" + slug.replace("-", ""), "original_id": "gh_" + slug.replace("-", "") + "01",
                   "encoding_aes_key": None, "message_mode": "plain"},
        "templates": {"approver": {"template_id": "tpl_approver", "data": {
            "thing1": "{title}", "thing2": "{applicant}", "time3": "{submitted_at}"}},
            "cc": {"template_id": "tpl_cc", "data": {"thing1": "{title}", "thing2": "{applicant}"}}},
        "policy": {"max_login_failures": 5, "lockout_minutes": 15, "password_min_length": 8,
                   "password_classes": [], "first_login_change_password": False,
                   "allow_mobile_registration": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def document(approvers: list[str], cc: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid document body for PUT /api/v1/{slug}/documents/{id}."""
    body: dict[str, Any] = {"type": "采购申请", "title": "采购 笔记本电脑", "summary": "两台 ThinkPad",
                            "applicant": "张三", "submitted_at": "2024-01-01T15:01:00+08:00",
                            "fields": [{"label": "金额", "value": "¥12,000"}], "approvers": approvers,
                            "cc": cc or []}
    body.update(overrides)
    return body


async def wait_for(predicate: Any, timeout: float = 20.0, every: float = 0.1) -> Any:
    """Poll `predicate` (a plain or an async function) until it returns something truthy; returns that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(every)


def free_port() -> int:
    """A loopback port free right now (for a server started in another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LoopbackService:
    """A server on a free loopback port that start() sets up (setting `server`): stopped with
    stop(), or used as `async with Service() as s:`."""
    server: Any = None

    async def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    async def __aenter__(self) -> Any:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        self.stop()


class Receiver(LoopbackService):
    """A webhook endpoint on loopback: records every request; answers from `script`
    ((status, headers) tuples, in order), then `default`."""

    def __init__(self, default: int = 204, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.default, self.delay = default, delay
        self.server: Any = None
        self.port = 0

    async def start(self) -> "Receiver":
        receiver = self

        class Hook(tornado.web.RequestHandler):
            async def post(self, path: str) -> None:
                receiver.requests.append({"path": path, "headers": dict(self.request.headers),
                                          "body": self.request.body, "at": asyncio.get_running_loop().time()})
                if receiver.delay:
                    await asyncio.sleep(receiver.delay)
                status, headers = receiver.script.pop(0) if receiver.script else (receiver.default, {})
                self.set_status(status)
                for k, v in headers.items():
                    self.set_header(k, v)
                self.finish()

        app = tornado.web.Application([(r"/(.*)", Hook)])
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(app)
        self.server.add_sockets(sockets)
        return self

    def url(self, path: str = "hook") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def ids(self) -> list[str]:
        return [r["headers"].get("Webhook-Id", "") for r in self.requests]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


def metric(g: "RunningGateway", name: str, **labels: str) -> float:
    """The value of one Prometheus sample of the gateway (0 when never recorded)."""
    return g.gw.metrics.registry.get_sample_value(name, labels) or 0.0


class RunningGateway:
    def __init__(self, gw: Gateway, server: tornado.httpserver.HTTPServer, port: int) -> None:
        self.gw, self.server, self.port = gw, server, port
        self.base_url = f"http://127.0.0.1:{port}"
        self.client = Client(self.base_url)

    async def request(self, *args: Any, **kwargs: Any) -> Response:
        return await self.client.request(*args, **kwargs)

    async def admin(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Response:
        return await self.client.request(method, path, body, token=OPERATOR_TOKEN, **kwargs)

    async def create_tenant(self, slug: str = "acme", **overrides: Any) -> dict[str, Any]:
        response = await self.admin("POST", "/admin/api/tenants", tenant_body(slug, **overrides))
        assert response.status == 201, response.text
        return response.json  # type: ignore[no-any-return]


class TestEnv:
    """Per-test settings factory; several gateways made from one TestEnv share storage and cache,
    like several processes of one deployment."""
    __test__ = False

    def __init__(self, tmp_path: Path, backend: str) -> None:
        self.tmp_path, self.backend = tmp_path, backend
        self.db_name = "gwt_" + secrets.token_hex(6)
        self.prefix = "t" + secrets.token_hex(4) + ":"
        self._db_created = False

    @property
    def is_mysql(self) -> bool:
        return self.backend == "mysql"

    def settings(self, **sections: dict[str, Any]) -> Settings:
        overrides: dict[str, dict[str, Any]] = {
            "server": {"var_dir": str(self.tmp_path / "var"), "public_url": "http://127.0.0.1:8080"},
            "security": {"operator_token": OPERATOR_TOKEN, "password_hash_n": 2**10},
        }
        if self.is_mysql:
            base = os.environ.get("GATEWAY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3307/")
            redis = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6380/0")
            overrides["storage"] = {"url": base.rstrip("/") + "/" + self.db_name}
            overrides["cache"] = {"url": f"{redis}?prefix={self.prefix}"}
        else:
            overrides["storage"] = {"url": f"sqlite:///{self.tmp_path}/gateway.db"}
            overrides["cache"] = {"url": "memory://"}
        for name, values in sections.items():
            overrides.setdefault(name, {}).update(values)
        settings = load_settings(Path(__file__).resolve().parent.parent / "settings.toml", env={},
                                 overrides=overrides)
        return ensure_secrets(settings)

    @staticmethod
    async def _server_execute(sql: str) -> None:
        """Run one statement on the MariaDB server itself (no database selected)."""
        import aiomysql
        url = urlparse(os.environ.get("GATEWAY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3307/"))
        conn = await aiomysql.connect(host=url.hostname, port=url.port or 3306, user=url.username or "root",
                                      password=url.password or "", autocommit=True)
        try:
            async with conn.cursor() as cur:
                await cur.execute(sql)
        finally:
            conn.close()

    async def ensure_database(self) -> None:
        if not self.is_mysql or self._db_created:
            return
        await self._server_execute(f"CREATE DATABASE IF NOT EXISTS {self.db_name} CHARACTER SET utf8mb4")
        self._db_created = True

    async def drop_database(self) -> None:
        if not self._db_created:
            return
        await self._server_execute(f"DROP DATABASE IF EXISTS {self.db_name}")
        self._db_created = False

    @asynccontextmanager
    async def gateway(self, settings: Settings | None = None, clock: Clock | None = None,
                      drop: bool = True, reachable: bool = False,
                      **sections: dict[str, Any]) -> AsyncIterator[RunningGateway]:
        """A gateway serving on a free loopback port; with `reachable` its public URL is that
        address (as a browser or the simulator must reach it)."""
        await self.ensure_database()
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        port = sockets[0].getsockname()[1]
        settings = settings or self.settings(**sections)
        if reachable:
            settings.server.public_url = f"http://127.0.0.1:{port}"
        gw = Gateway(settings, clock=clock)
        await gw.start()
        server = tornado.httpserver.HTTPServer(make_app(gw), max_body_size=16 * 1024 * 1024)
        server.add_sockets(sockets)
        running = RunningGateway(gw, server, port)
        try:
            yield running
        finally:
            running.client.close()
            server.stop()
            await gw.stop()
            if drop:
                await self.drop_database()
