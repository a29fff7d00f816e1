"""Tornado application serving WeChat's real API paths, the OAuth authorize page and the /_sim/ control API."""

from __future__ import annotations

import asyncio
import html

import tornado.web
from tornado.log import access_log

from simulator.common import error_body
from simulator.component_web import component_routes
from simulator.control import control_routes
from simulator.phone import phone_routes
from simulator.state import SimulatorState
from simulator.web import BaseHandler, query_dict


class ApiHandler(BaseHandler):
    """Every JSON API path (cgi-bin/..., sns/...), dispatched to SimulatorState.handle."""

    async def _serve(self, endpoint: str) -> None:
        if not self.state.is_api(endpoint):
            self.write_json(error_body(-1, f"unknown api /{endpoint}"), status=404)
            return
        delay = self.state.latency(endpoint)
        if delay:
            await asyncio.sleep(delay)
        result = self.state.handle(endpoint, self.request.method or "GET", query_dict(self.request), self.request.body)
        self.write_json(result)

    async def get(self, endpoint: str) -> None:
        await self._serve(endpoint)

    async def post(self, endpoint: str) -> None:
        await self._serve(endpoint)


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title></head><body>{body}</body></html>"""


class AuthorizeHandler(BaseHandler):
    """open.weixin.qq.com/connect/oauth2/authorize as the simulated phone sees it."""

    async def get(self) -> None:
        delay = self.state.latency("connect/oauth2/authorize")
        if delay:
            await asyncio.sleep(delay)
        query = query_dict(self.request)
        chosen = query.pop("sim_openid", "").strip() or None
        outcome = self.state.authorize(query, chosen)
        if outcome.kind == "redirect":
            self.redirect(outcome.location, status=302)
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        if outcome.kind == "error":
            # WeChat shows its error page with HTTP 200, not an HTTP error status.
            body = (
                "<h2>Oops! Something went wrong:(</h2>"
                f"<p class='errmsg'>{html.escape(outcome.message)}</p>"
                f"<p class='errcode'>{outcome.errcode}</p>"
            )
            self.finish(_PAGE.format(title="微信网页授权", body=body))
            return
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items()
        )
        options = "".join(f'<option value="{html.escape(o)}">' for o in outcome.openids)
        body = (
            "<h2>Simulated phone: who is signing in?</h2>"
            f'<form method="get" action="{html.escape(self.request.path)}">{hidden}'
            '<input name="sim_openid" list="openids" placeholder="openid" required>'
            f'<datalist id="openids">{options}</datalist>'
            '<button type="submit">Authorize</button></form>'
        )
        self.finish(_PAGE.format(title="微信网页授权", body=body))


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Path only: queries carry access tokens and secrets, even if simulated ones.
    request = handler.request
    access_log.info("%d %s %s %.2fms", handler.get_status(), request.method, request.path, 1000 * request.request_time())


def make_app(state: SimulatorState) -> tornado.web.Application:
    """One port for api_base and oauth_base alike; /_sim/ is the control API for tests and the demo."""
    args = {"state": state}
    return tornado.web.Application(
        [
            (r"/connect/oauth2/authorize", AuthorizeHandler, args),
            *phone_routes(state),
            *component_routes(state),
            *control_routes(state),
            (r"/((?:cgi-bin|sns)/.+)", ApiHandler, args),
        ],
        log_function=_log_request,
    )
