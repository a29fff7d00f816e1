"""Base handlers: JSON bodies in, the contract's error shape out (never a traceback, SQL
text or secret), bearer-token handlers exempt from the cookie XSRF check."""
from __future__ import annotations

import hmac
import json
import logging
import re
import time
from typing import Any

import tornado.web

from gateway.root import Gateway
from gateway.platform.errors import Forbidden, GatewayError, Invalid, Unauthorized
from gateway.storage import StorageError
from gateway.cache import CacheError
from handlers.error_pages import render_error

log = logging.getLogger("gateway.http")

# Route patterns shared by every audience's URLs (the core validates the values themselves).
SLUG = r"(?P<slug>[a-z0-9][a-z0-9-]{0,63})"
DOC = r"(?P<doc_id>[^/]{1,200})"

_PHONE_PAGE = re.compile(r"^/wx/(?P<slug>[a-z0-9][a-z0-9-]{0,63})/(?!api/|callback$)")
_STATUS_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid_rows",
                 423: "locked", 429: "rate_limited", 503: "unavailable"}


def _is_text(value: Any) -> bool:
    """True when every string (keys included) in a parsed JSON value encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def error_status(status_code: int, exc: BaseException | None) -> int:
    """The status a page answers for `exc`: a contract error's own, 503 for a back end down, an
    HTTPError's, else Tornado's `status_code`."""
    if isinstance(exc, GatewayError):
        return exc.status
    if isinstance(exc, (StorageError, CacheError)):
        return 503
    if isinstance(exc, tornado.web.HTTPError):
        return exc.status_code
    return status_code


class BaseHandler(tornado.web.RequestHandler):
    route_name = "other"

    @property
    def gw(self) -> Gateway:
        return self.application.settings["gateway"]  # type: ignore[no-any-return]

    def prepare(self) -> None:
        self._started = time.perf_counter()
        self._in_flight = True
        self.gw.inflight.enter()

    def on_finish(self) -> None:
        self._leave_inflight()
        started = getattr(self, "_started", None)
        if started is not None:
            self.gw.metrics.request_seconds.labels(self.route_name).observe(time.perf_counter() - started)

    def on_connection_close(self) -> None:
        # A client gone mid-body (streamed callbacks) never reaches on_finish.
        super().on_connection_close()
        self._leave_inflight()

    def _leave_inflight(self) -> None:
        # Only a request that went through prepare() was counted (an XSRF refusal comes before it).
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            self.gw.inflight.leave()

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (GatewayError, tornado.web.HTTPError, StorageError, CacheError)):
            return  # answered in the contract's shape; back-end failures are logged by write_error
        # Only the exception type and the route: messages of driver errors can carry SQL or data.
        log.error("unhandled %s in %s %s", typ.__name__ if typ else "error", self.request.method,
                  self.request.path, exc_info=(typ, value, tb) if self.settings.get("debug") else None)


class JsonHandler(BaseHandler):
    def write_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(obj, ensure_ascii=False))

    def json_body(self) -> Any:
        if not self.request.body:
            raise Invalid("the request needs a JSON body")
        try:
            body = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError):
            raise Invalid("the body is not valid JSON") from None
        if not _is_text(body):
            # "\ud800" is valid JSON but not text: no database, hash or log could take it.
            raise Invalid("the body holds a string that is not valid Unicode text (a lone surrogate)")
        return body

    def json_object(self) -> dict[str, Any]:
        body = self.json_body()
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, GatewayError):
            self.set_status(exc.status)
            body = exc.as_json()
            retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
            if retry_after:
                self.set_header("Retry-After", str(int(retry_after)))
        elif isinstance(exc, (StorageError, CacheError)):
            cause = exc.__cause__
            code = cause.args[0] if cause is not None and cause.args and isinstance(cause.args[0], int) else ""
            # The driver's class and numeric code only: its message can carry SQL or data.
            log.warning("%s on %s %s: %s %s", type(exc).__name__, self.request.method, self.request.path,
                        type(cause).__name__ if cause else "", code)
            self.set_status(503)
            body = {"error": {"code": "unavailable", "message": "a back end is unavailable, try again",
                              "details": {}}}
        else:
            if isinstance(exc, tornado.web.HTTPError):
                self.set_status(exc.status_code)
                status_code = exc.status_code
            code = _STATUS_CODES.get(status_code, "internal")
            message = "something went wrong" if status_code >= 500 else (
                (exc.log_message if isinstance(exc, tornado.web.HTTPError) and exc.log_message else None)
                or self._reason)
            body = {"error": {"code": code, "message": message, "details": {}}}
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


class BearerHandler(JsonHandler):
    """JSON API authenticated by a bearer token, not cookies: no XSRF token applies."""

    def check_xsrf_cookie(self) -> None:
        return None

    def bearer_token(self) -> str:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required")
        return token.strip()


class OperatorHandler(BearerHandler):
    route_name = "admin"

    def prepare(self) -> None:
        super().prepare()
        token = self.bearer_token()
        expected = self.gw.settings.security.operator_token
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise Unauthorized("the operator token is not valid")


class TenantApiHandler(BearerHandler):
    """The tenant's business-system API under /api/v1/{slug}: its own API key, or 401/403."""
    route_name = "tenant_api"

    async def prepare(self) -> None:  # type: ignore[override]
        super().prepare()
        token = self.bearer_token()
        slug = self.path_kwargs.get("slug", "")
        owner = await self.gw.registry.tenant_for_api_key(token)
        if owner is None:
            raise Unauthorized("the API key is not valid")
        if owner.slug != slug:
            raise Forbidden("this API key belongs to another tenant")
        self.tenant = owner


class JsonNotFoundHandler(JsonHandler):
    """Unknown URLs: JSON, except the phone's pages (`/wx/<slug>/…` outside `api/`), which get the
    styled page."""

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        super().prepare()
        raise tornado.web.HTTPError(404, "no such endpoint")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        page = _PHONE_PAGE.match(self.request.path)
        if page is None:
            super().write_error(status_code, **kwargs)
        elif self.gw.registry.get(page["slug"]) is None:
            render_error(self, 404, "unknown_tenant")
        else:
            render_error(self, 404, link=f"/wx/{page['slug']}/inbox")
