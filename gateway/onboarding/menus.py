"""Tenant menus: checked against WeChat's limits, `entry:<next>` expanded to the tenant's entry URL,
pushed with menu/create through the token centre, and the last pushed menu kept in tenant state."""
from __future__ import annotations

import copy
import re
from typing import Any, Iterator

from gateway.platform.audit import AuditLog
from gateway.platform.errors import GatewayError, Invalid, NotFound, wechat_unavailable
from gateway.platform.links import DOC_ID_RE, entry_url
from gateway.platform.tenant_state import TenantState
from gateway.tokens.centre import TokenCentre
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.errors import (BadCredentials, IpNotWhitelisted, QuotaExceeded, Retryable, TokenInvalid,
                                       WeChatError)
from gateway.wechat.api.menu import create_menu
from gateway.wechat.menu_rules import DEFAULT_MENU, MenuInvalid, expand_entry_urls, validate_menu
from gateway.platform.tenant import Tenant

ENTRY = "entry:"
# Only the gateway's own pages under /wx/{slug}/, and a doc id only as documents accept it.
_NEXT_RE = re.compile(rf"inbox|password|register|doc/{DOC_ID_RE.pattern.strip('^$')}")
_PLACEHOLDER = "https://entry.invalid/"


def _buttons(menu: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    buttons = menu.get("button") if isinstance(menu, dict) else None
    for i, button in enumerate(buttons if isinstance(buttons, list) else []):
        if not isinstance(button, dict):
            continue
        yield f"button[{i}]", button
        subs = button.get("sub_button")
        for j, sub in enumerate(subs if isinstance(subs, list) else []):
            if isinstance(sub, dict):
                yield f"button[{i}].sub_button[{j}]", sub


class MenuService:
    def __init__(self, tokens: TokenCentre, http: WeChatHttp, state: TenantState, audit: AuditLog,
                 public_url: str) -> None:
        self.tokens, self.http, self.state, self.audit, self.public_url = tokens, http, state, audit, public_url

    def entry_url(self, tenant: Tenant, next_page: str) -> str:
        return entry_url(self.public_url, tenant.slug, next_page)

    def prepare(self, tenant: Tenant, menu: Any) -> dict[str, Any]:
        """The menu as it will be pushed, or MenuInvalid naming the first offending button."""
        for path, button in _buttons(menu):
            url = button.get("url")
            if isinstance(url, str) and url.startswith(ENTRY) and not _NEXT_RE.fullmatch(url[len(ENTRY):]):
                raise MenuInvalid(path, button, "entry: needs a page of the tenant: entry:inbox, entry:password, "
                                                "entry:register or entry:doc/<doc_id>")
        # Checked before expansion (shape and limits), then after it (the entry URL's real length).
        validate_menu(expand_entry_urls(menu, lambda _: _PLACEHOLDER) if isinstance(menu, dict) else menu)
        expanded = expand_entry_urls(menu, lambda next_page: self.entry_url(tenant, next_page))
        validate_menu(expanded)
        return expanded

    async def push(self, tenant: Tenant, menu: Any, actor: str = "operator") -> dict[str, Any]:
        """Validate, expand and push; raises Invalid (menu or WeChat's refusal) or Unavailable."""
        try:
            expanded = self.prepare(tenant, menu)
        except MenuInvalid as exc:
            raise Invalid(f"the menu breaks WeChat's rules at {exc.path}: {exc.reason}",
                          {"path": exc.path, "button": exc.button, "reason": exc.reason}) from None
        try:
            await self.tokens.call(tenant, lambda token: create_menu(self.http, token, expanded))
        except WeChatError as exc:
            raise _menu_error(exc) from None
        await self.state.set(tenant.id, "menu", expanded)
        await self.audit.record(tenant.id, actor, "menu.pushed", tenant.slug)
        return expanded

    async def push_default(self, tenant: Tenant, actor: str = "operator") -> dict[str, Any]:
        return await self.push(tenant, copy.deepcopy(DEFAULT_MENU), actor)

    async def last(self, tenant: Tenant) -> dict[str, Any]:
        menu = await self.state.get(tenant.id, "menu")
        if not menu:
            raise NotFound("no menu has been pushed for this tenant yet")
        return dict(menu)


def _menu_error(exc: WeChatError) -> GatewayError:
    if isinstance(exc, (Retryable, IpNotWhitelisted, BadCredentials, QuotaExceeded, TokenInvalid)):
        return wechat_unavailable(exc)
    return Invalid(f"WeChat refused the menu: {exc.meaning} ({exc.errcode})", {"errcode": exc.errcode})
