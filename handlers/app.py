"""Builds the Tornado application of one gateway process from every audience's routes."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import tornado.web

from gateway.core import Gateway
from handlers.base import JsonNotFoundHandler

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Route modules, one per audience; a module missing its piece of the product is skipped.
ROUTE_MODULES = ("handlers.ops", "handlers.admin", "handlers.admin_menu", "handlers.wechat", "handlers.jssdk",
                 "handlers.tenant_accounts", "handlers.tenant_documents", "handlers.mobile_auth",
                 "handlers.mobile_docs", "handlers.pages")


def collect_routes() -> list[Any]:
    routes: list[Any] = []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        routes.extend(module.ROUTES)
    return routes


def make_app(gw: Gateway, **overrides: Any) -> tornado.web.Application:
    settings: dict[str, Any] = dict(
        gateway=gw,
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": False, "samesite": "Lax",
                            "secure": gw.public_url.startswith("https://")},
        cookie_secret=gw.settings.security.session_key,
        default_handler_class=JsonNotFoundHandler,
        template_path=str(PROJECT_ROOT / "templates"),
        static_path=str(PROJECT_ROOT / "static"),
        debug=False,
        serve_traceback=False,
        compress_response=False,
    )
    settings.update(overrides)
    return tornado.web.Application(collect_routes(), **settings)
