"""Async HTTP layer for the WeChat API: one GET/POST-JSON call, errcode mapped to the error tree."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.httputil import url_concat

from gateway.wechat.api.errors import NetworkError, WeChatError, error_for

log = logging.getLogger(__name__)
WARN_EVERY = 10.0  # seconds between two warnings about the same endpoint and error code

NETWORK_ERRCODE = -2
_SENSITIVE = ("access_token", "secret", "component_access_token", "component_appsecret", "component_verify_ticket",
              "authorizer_refresh_token", "authorization_code")


class WeChatHttp:
    """Calls `{api_base}/{path}`; logs only the path and outcome, never the query."""

    def __init__(
        self,
        api_base: str,
        timeout: float = 5.0,
        http_client: AsyncHTTPClient | None = None,
        on_call: Callable[[str, str], None] | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._warned: dict[tuple[str, str, int], tuple[float, int]] = {}
        self._http = http_client
        self._on_call = on_call

    async def get(self, path: str, params: dict[str, str]) -> dict:
        return await self._call("GET", path, params, None)

    async def post_json(self, path: str, params: dict[str, str], body: dict) -> dict:
        # WeChat rejects \uXXXX escapes (40033), so send raw UTF-8.
        return await self._call("POST", path, params, body)

    async def _call(self, method: str, path: str, params: dict[str, str], body: dict | None) -> dict:
        path = path.lstrip("/")
        secrets = [v for k, v in {**params, **(body or {})}.items() if k in _SENSITIVE and isinstance(v, str) and v]
        try:
            data = await self._fetch(method, path, params, body)
            errcode = _errcode(data)
            if errcode:
                raise error_for(errcode, _scrub(str(data.get("errmsg", "")), secrets))
        except WeChatError as exc:
            self._warn(method, path, exc.errcode)
            self._record(path, str(exc.errcode))
            raise
        log.debug("wechat %s %s ok", method, path)
        self._record(path, "ok")
        return data

    def _warn(self, method: str, path: str, errcode: int) -> None:
        """One line per endpoint and error code every WARN_EVERY seconds, with how many were held back:
        a busy WeChat answers many calls alike, and a line per call helps nobody."""
        key = (method, path, errcode)
        now = time.monotonic()
        last, held = self._warned.get(key, (0.0, 0))
        if now - last < WARN_EVERY:
            self._warned[key] = (last, held + 1)
            return
        self._warned[key] = (now, 0)
        more = f" ({held} more like it since the last line)" if held else ""
        log.warning("wechat %s %s failed: errcode %s%s", method, path, errcode, more)

    async def _fetch(self, method: str, path: str, params: dict[str, str], body: dict | None) -> dict:
        request = HTTPRequest(
            url_concat(f"{self.api_base}/{path}", params),
            method=method,
            headers={"Content-Type": "application/json; charset=utf-8"} if body is not None else None,
            body=json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None,
            connect_timeout=self.timeout,
            request_timeout=self.timeout,
        )
        http = self._http or AsyncHTTPClient()
        try:
            response: HTTPResponse = await http.fetch(request, raise_error=False)
        except Exception as exc:  # DNS, TLS, refused: reported by some clients as raised errors
            raise NetworkError(NETWORK_ERRCODE, f"connection error: {type(exc).__name__}") from None
        if response.code == 599:
            # Tornado's own error text ("Timeout during request", errno text) carries no URL.
            raise NetworkError(NETWORK_ERRCODE, f"connection error: {response.error}")
        if not 200 <= response.code < 300:
            raise NetworkError(NETWORK_ERRCODE, f"HTTP {response.code}")
        try:
            data = json.loads(response.body or b"")
        except ValueError:
            ctype = response.headers.get("Content-Type", "unknown")
            raise NetworkError(NETWORK_ERRCODE, f"non-JSON response ({ctype})") from None
        if not isinstance(data, dict):
            raise NetworkError(NETWORK_ERRCODE, "JSON response is not an object")
        return data

    def _record(self, path: str, outcome: str) -> None:
        if self._on_call is not None:
            self._on_call(path, outcome)


def require(data: dict, key: str) -> Any:
    """A success body's field; a body without it is malformed, treated like a non-JSON body."""
    if key not in data or data[key] is None:
        raise NetworkError(NETWORK_ERRCODE, f"response missing {key!r}")
    return data[key]


def _errcode(data: dict) -> int:
    try:
        return int(data.get("errcode") or 0)
    except (TypeError, ValueError):
        raise NetworkError(NETWORK_ERRCODE, "malformed errcode") from None


def _scrub(errmsg: str, secrets: list[str]) -> str:
    for secret in secrets:
        errmsg = errmsg.replace(secret, "***")
    return errmsg
