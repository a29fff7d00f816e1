"""Async helper for the simulator's /_sim/ control API, used by the gateway's tests and demo."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

Json = dict[str, Any]


class SimulatorError(Exception):
    """The control API refused a request (HTTP 4xx with {"error": ...})."""


class SimulatorClient:
    """One method per control endpoint; each returns the parsed JSON answer."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def _call(self, method: str, path: str, body: Json | None = None, query: Json | None = None) -> Json:
        url = f"{self.base_url}/_sim/{path}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        payload = json.dumps(body or {}, ensure_ascii=False).encode("utf-8") if method != "GET" else None
        try:
            response = await AsyncHTTPClient().fetch(
                url,
                method=method,
                body=payload,
                headers={"Content-Type": "application/json"} if payload is not None else None,
                request_timeout=self.timeout,
                allow_nonstandard_methods=method == "DELETE",
            )
        except HTTPClientError as exc:
            detail = exc.response.body.decode("utf-8", "replace") if exc.response is not None else str(exc)
            raise SimulatorError(f"{method} /_sim/{path}: {detail}") from None
        result: Json = json.loads(response.body)
        return result

    async def add_app(self, app_id: str, **fields: Any) -> Json:
        return await self._call("POST", "apps", {"app_id": app_id, **fields})

    async def apps(self) -> Json:
        return await self._call("GET", "apps")

    async def add_user(
        self, app_id: str, openid: str, subscribed: bool = True, snapshot: bool = False, unionid: str | None = None,
        nickname: str | None = None,
    ) -> Json:
        body = {"app_id": app_id, "openid": openid, "subscribed": subscribed, "snapshot": snapshot}
        if unionid is not None:
            body["unionid"] = unionid
        if nickname is not None:
            body["nickname"] = nickname
        return await self._call("POST", "users", body)

    async def users(self, app_id: str) -> Json:
        return await self._call("GET", "users", query={"app_id": app_id})

    async def set_current_user(self, app_id: str, openid: str | None) -> Json:
        return await self._call("POST", "current_user", {"app_id": app_id, "openid": openid})

    async def inject_fault(
        self, endpoint: str, errcode: int, count: int = 1, app_id: str | None = None, errmsg: str | None = None
    ) -> Json:
        body = {"endpoint": endpoint, "errcode": errcode, "count": count, "app_id": app_id, "errmsg": errmsg}
        return await self._call("POST", "faults", body)

    async def faults(self) -> Json:
        return await self._call("GET", "faults")

    async def clear_faults(self) -> Json:
        return await self._call("DELETE", "faults")

    async def set_latency(self, endpoint: str, seconds: float) -> Json:
        return await self._call("POST", "latency", {"endpoint": endpoint, "seconds": seconds})

    async def invalidate_tokens(self, app_id: str) -> Json:
        return await self._call("POST", "invalidate_tokens", {"app_id": app_id})

    async def advance_clock(self, seconds: float) -> Json:
        return await self._call("POST", "clock", {"advance": seconds})

    async def clock(self) -> Json:
        return await self._call("GET", "clock")

    async def sent(self, app_id: str | None = None) -> list[Json]:
        result = await self._call("GET", "sent", query={"app_id": app_id})
        sent: list[Json] = result["sent"]
        return sent

    async def calls(self) -> dict[str, dict[str, int]]:
        result = await self._call("GET", "calls")
        calls: dict[str, dict[str, int]] = result["calls"]
        return calls

    async def call_count(self, endpoint: str, app_id: str | None = None) -> int:
        per_app = (await self.calls()).get(endpoint.strip("/"), {})
        return sum(per_app.values()) if app_id is None else per_app.get(app_id, 0)

    async def menu(self, app_id: str) -> Json | None:
        result = await self._call("GET", "menu", query={"app_id": app_id})
        menu: Json | None = result["menu"]
        return menu

    async def reset(self) -> Json:
        return await self._call("POST", "reset")

    async def oauth_code(self, app_id: str, openid: str, scope: str = "snsapi_base") -> str:
        result = await self._call("POST", "oauth_code", {"app_id": app_id, "openid": openid, "scope": scope})
        code: str = result["code"]
        return code

    async def push(self, app_id: str, openid: str, type: str, **kw: Any) -> Json:
        return await self._call("POST", "push", {"app_id": app_id, "openid": openid, "type": type, **kw})

    async def push_text(self, app_id: str, openid: str, content: str, **kw: Any) -> Json:
        return await self.push(app_id, openid, "text", content=content, **kw)

    async def push_event(self, app_id: str, openid: str, event: str, event_key: str | None = None, **kw: Any) -> Json:
        if event_key is not None:
            kw["event_key"] = event_key
        return await self.push(app_id, openid, "event", event=event, **kw)

    async def scan(self, openid: str, ticket: str, app_id: str | None = None) -> Json:
        """The user scans a parametric QR code (its ticket, or the URL it encodes)."""
        return await self._call("POST", "scan", {"app_id": app_id, "openid": openid, "ticket": ticket})

    async def push_raw(
        self, url: str, query: dict[str, str], body: str, method: str = "POST", **kw: Any
    ) -> Json:
        return await self._call("POST", "push_raw", {"url": url, "query": query, "body": body, "method": method, **kw})

    async def verify(self, app_id: str, echostr: str | None = None, url: str | None = None) -> Json:
        return await self._call("POST", "verify", {"app_id": app_id, "echostr": echostr, "url": url})

    # ---- the third-party platform (simulator/component_web.py) ----------------------------------------
    async def configure_component(self, **fields: Any) -> Json:
        return await self._call("POST", "component", fields)

    async def component_status(self) -> Json:
        return await self._call("GET", "component")

    async def push_component_ticket(self) -> Json:
        return await self._call("POST", "component/ticket", {})

    async def component_authorize(self, app_id: str, func_info: list[int] | None = None) -> Json:
        return await self._call("POST", "component/authorize",
                                {"app_id": app_id, **({"func_info": func_info} if func_info is not None else {})})

    async def component_revoke(self, app_id: str) -> Json:
        return await self._call("POST", "component/revoke", {"app_id": app_id})

    async def custom_sent(self) -> list[Json]:
        return list((await self._call("GET", "component/custom_sent"))["items"])
