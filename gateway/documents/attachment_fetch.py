"""Relays one attachment from the business system to a recipient's phone, chunk by chunk with
back-pressure (never held whole): the address checked after DNS and connected to as checked
(the webhooks' rules), no redirect followed, at most 20 MB, and a deadline on every silence."""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any, Awaitable, Protocol
from urllib.parse import urlparse

from tornado.http1connection import HTTP1Connection, HTTP1ConnectionParameters
from tornado.httputil import HTTPHeaders, HTTPMessageDelegate, RequestStartLine, ResponseStartLine
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from gateway.documents.attachments import MAX_BYTES
from gateway.platform.safe_http import BlockedAddress, CheckedResolver
from gateway.platform.tenant_validation import is_private_host

log = logging.getLogger("gateway.attachments")
CHUNK = 64 * 1024
PHONE_STALL = 60.0  # seconds a phone may take to accept one chunk


class FetchFailed(Exception):
    """Nothing was sent to the phone yet: answer `status` (413 too large, 502 refused or broken,
    504 silent too long) with a page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class FetchCut(Exception):
    """The file had begun to reach the phone when the business system failed, went silent or sent
    more than the cap: the phone's connection must be cut so the file is not taken as whole."""


class FileSink(Protocol):
    def begin(self, length: int | None, encoding: str | None) -> None: ...
    def send(self, chunk: bytes) -> Awaitable[None]: ...


class _PrivateOnlyResolver(CheckedResolver):
    """For plain http: every address must be private, so a file never crosses the internet unencrypted."""

    async def resolve(self, host: str, port: int,  # type: ignore[override]
                      family: socket.AddressFamily = socket.AF_UNSPEC) -> list[tuple[int, Any]]:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        addresses: list[tuple[int, Any]] = [(fam, address) for fam, _, _, _, address in infos]
        if not addresses or not all(is_private_host(str(a[0])) for _, a in addresses):
            raise BlockedAddress(f"{host}: plain http only to private addresses")
        return addresses


class _Relay(HTTPMessageDelegate):
    def __init__(self, sink: FileSink, stream: IOStream, max_bytes: int) -> None:
        self.sink, self.stream, self.max_bytes = sink, stream, max_bytes
        self.status = 0
        self.headers: HTTPHeaders | None = None
        self.begun = self.complete = self.sink_gone = self.too_large = self.timed_out = False
        self.waiting_on_phone = False
        self.waiting_since = 0.0
        self.total = 0
        self.last = asyncio.get_running_loop().time()

    def _stop(self) -> None:
        self.stream.close()

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> None:
        assert isinstance(start_line, ResponseStartLine)
        self.status, self.headers = start_line.code, headers
        self.last = asyncio.get_running_loop().time()
        if not 200 <= self.status < 300:
            self._stop()  # a redirect is never followed, an error page never relayed
            return
        length = headers.get("Content-Length", "").split(",")[0].strip()
        if length.isdigit() and int(length) > self.max_bytes:
            self.too_large = True
            self._stop()

    def _begin(self) -> None:
        if self.begun:
            return
        self.begun = True
        assert self.headers is not None
        length = self.headers.get("Content-Length", "").split(",")[0].strip()
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        encoding = self.headers.get("Content-Encoding")
        self.sink.begin(int(length) if length.isdigit() and not chunked else None,
                        encoding if encoding and encoding.lower() != "identity" else None)

    async def data_received(self, chunk: bytes) -> None:  # type: ignore[override]
        if self.sink_gone or self.too_large or not chunk or not 200 <= self.status < 300:
            return  # what was already buffered behind a refused answer is never relayed
        self.total += len(chunk)
        if self.total > self.max_bytes:
            self.too_large = True
            self._stop()
            return
        self._begin()
        self.waiting_on_phone = True
        self.waiting_since = asyncio.get_running_loop().time()
        try:
            await self.sink.send(chunk)
        except Exception:  # the phone went away: stop reading the business system
            self.sink_gone = True
            self._stop()
        finally:
            self.waiting_on_phone = False
            self.last = asyncio.get_running_loop().time()

    def finish(self) -> None:
        if 200 <= self.status < 300 and not self.sink_gone and not self.too_large:
            self._begin()
            self.complete = True

    def on_connection_close(self) -> None:
        return None


class AttachmentFetcher:
    """Streams attachment URLs to sinks; `timeout` is how long the business system may stay silent."""

    def __init__(self, allow_private: bool, timeout: float = 15.0, max_bytes: int = MAX_BYTES) -> None:
        self.allow_private, self.timeout, self.max_bytes = allow_private, timeout, max_bytes
        self._tls = ssl.create_default_context()

    async def stream(self, url: str, sink: FileSink) -> int:
        """Relay `url` to `sink`; the number of bytes sent. FetchFailed before anything was sent,
        FetchCut after."""
        parsed = urlparse(url)
        https = parsed.scheme == "https"
        if parsed.scheme not in ("http", "https") or not parsed.hostname or (not https and not self.allow_private):
            raise FetchFailed(502, "not an allowed URL")
        resolver = (CheckedResolver(allow_private=self.allow_private) if https else _PrivateOnlyResolver())
        try:
            stream = await TCPClient(resolver=resolver).connect(
                parsed.hostname, parsed.port or (443 if https else 80), ssl_options=self._tls if https else None,
                max_buffer_size=4 * CHUNK + 65536, timeout=self.timeout)
        except BlockedAddress as exc:
            raise FetchFailed(502, str(exc)) from None
        except (TimeoutError, asyncio.TimeoutError):
            raise FetchFailed(504, "no connection within the deadline") from None
        except (OSError, StreamClosedError, ssl.SSLError, ValueError) as exc:
            raise FetchFailed(502, f"connection error: {type(exc).__name__}") from None
        finally:
            resolver.close()
        relay = _Relay(sink, stream, self.max_bytes)
        watchdog = asyncio.ensure_future(self._watch(relay))
        try:
            conn = HTTP1Connection(stream, True, HTTP1ConnectionParameters(
                no_keep_alive=True, chunk_size=CHUNK, max_header_size=65536, max_body_size=self.max_bytes,
                decompress=False))
            target = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
            await conn.write_headers(RequestStartLine("GET", target, "HTTP/1.1"), HTTPHeaders({
                "Host": parsed.netloc, "Accept": "*/*", "Accept-Encoding": "identity", "Connection": "close",
                "User-Agent": "wechat-gateway (attachment relay)"}))
            conn.finish()
            await conn.read_response(relay)
        except (StreamClosedError, OSError, ssl.SSLError):
            pass  # judged below from what the relay saw
        finally:
            watchdog.cancel()
            stream.close()
        return self._outcome(relay)

    @staticmethod
    def _outcome(relay: _Relay) -> int:
        timed_out = relay.timed_out
        if relay.complete:
            return relay.total
        if relay.begun:
            reason = ("the phone went away" if relay.sink_gone else "more than 20 MB" if relay.too_large
                      else "silent too long" if timed_out else "the business system broke off")
            raise FetchCut(reason)
        if relay.too_large:
            raise FetchFailed(413, "the file is larger than 20 MB")
        if relay.status and not 200 <= relay.status < 300:
            raise FetchFailed(502, f"the business system answered {relay.status}")
        if timed_out:
            raise FetchFailed(504, "the business system did not answer in time")
        raise FetchFailed(502, "the business system broke off")

    async def _watch(self, relay: _Relay) -> None:
        """Close the upstream once it has been silent for `timeout` (time spent waiting on a slow
        phone does not count: that is back-pressure, not silence), or once the phone has taken
        no chunk for PHONE_STALL seconds (a phone that stopped reading must not hold the upstream)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, self.timeout / 4))
            now = loop.time()
            if relay.waiting_on_phone:
                if now - relay.waiting_since > max(PHONE_STALL, self.timeout):
                    relay.sink_gone = True
                    relay.stream.close()
                    return
            elif now - relay.last > self.timeout:
                relay.timed_out = True
                relay.stream.close()
                return
