"""Outbound HTTP to tenant-chosen URLs (webhooks) that cannot be turned against the gateway's
own network: private and loopback targets refused, checked after DNS, no redirects followed."""
from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.netutil import Resolver

from gateway.platform.tenant_validation import is_private_host

MAX_RESPONSE_BYTES = 1024 * 1024


class BlockedAddress(Exception):
    """The target is, or resolves to, a private, loopback or otherwise non-public address."""


@dataclass
class HttpResult:
    status: int                 # 0 when no HTTP answer came (connection error, timeout, blocked)
    headers: dict[str, str]
    error: str | None


class CheckedResolver(Resolver):
    """Resolves with the loop's getaddrinfo and hands the connector only addresses it checked,
    so a name cannot resolve to a public address for the check and a private one for the connect."""

    def initialize(self, allow_private: bool = False) -> None:  # type: ignore[override]
        self.allow_private = allow_private

    async def resolve(self, host: str, port: int,  # type: ignore[override]
                      family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        addresses: list[tuple[int, Any]] = []
        for fam, _, _, _, address in infos:
            if not self.allow_private and is_private_host(str(address[0])):
                raise BlockedAddress(f"{host} resolves to a private or loopback address")
            addresses.append((fam, address))
        if not addresses:
            raise BlockedAddress(f"{host} does not resolve")
        return addresses


class SafeHttp:
    def __init__(self, allow_private: bool, timeout: float = 15.0) -> None:
        self.allow_private, self.timeout = allow_private, timeout
        self._client = AsyncHTTPClient(force_instance=True, resolver=CheckedResolver(allow_private=allow_private),
                                       max_clients=50, max_body_size=MAX_RESPONSE_BYTES)

    def url_problem(self, url: str) -> str | None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            return "not an http(s) URL"
        if not self.allow_private and is_private_host(parsed.hostname):
            return "private or loopback host refused"
        return None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> HttpResult:
        problem = self.url_problem(url)
        if problem is not None:
            return HttpResult(0, {}, problem)
        request = HTTPRequest(url, method="POST", body=body, headers=headers, follow_redirects=False,
                              connect_timeout=self.timeout, request_timeout=self.timeout,
                              decompress_response=False)
        try:
            response = await self._client.fetch(request, raise_error=False)
        except BlockedAddress as exc:
            return HttpResult(0, {}, str(exc))
        except Exception as exc:  # DNS failure, TLS, refused: the delivery is retried
            return HttpResult(0, {}, f"connection error: {type(exc).__name__}")
        if response.code == 599:
            error = response.error
            if isinstance(error, BlockedAddress):
                return HttpResult(0, {}, str(error))
            return HttpResult(0, {}, f"connection error: {type(error).__name__ if error else 'unknown'}")
        return HttpResult(response.code, {k.lower(): v for k, v in response.headers.get_all()}, None)

    def close(self) -> None:
        self._client.close()
