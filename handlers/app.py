"""Builds the Tornado application of one gateway process from every audience's routes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web

from gateway.root import Gateway
from handlers import (admin, admin_menu, bind_pages, component, console_auth, console_component, console_documents,
                      console_import, console_logs, console_people, console_tenant, console_tenants, console_tools,
                      console_webhooks, jssdk, mobile_auth, mobile_docs, mobile_files, ops, pages, tenant_accounts,
                      tenant_bind_qr, tenant_documents, wechat)
from handlers.base import JsonNotFoundHandler

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# One module per audience.
ROUTE_MODULES = (ops, admin, admin_menu, component, wechat, jssdk, tenant_accounts, tenant_bind_qr, tenant_documents,
                 mobile_auth, mobile_docs, mobile_files, pages, bind_pages, console_auth, console_tenants, console_tenant,
                 console_tools, console_people, console_import, console_documents, console_webhooks, console_logs,
                 console_component)


def collect_routes() -> list[Any]:
    return [route for module in ROUTE_MODULES for route in module.ROUTES]


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
