"""The operator's console pages: the tenants list with each tenant's health, creating a tenant,
deleting one (typed confirmation), operator accounts and each tenant's administrators."""
from __future__ import annotations

from typing import Any

import tornado.web

from gateway.console.accounts import OPERATOR_TENANT
from gateway.console.health import HealthReader, beijing_time
from gateway.console.settings_form import field_errors, form_values, read_settings
from gateway.onboarding.checklist_authorized import plain_steps_authorized
from gateway.onboarding.checklist_text import plain_steps
from gateway.platform.clock import iso
from gateway.platform.errors import Conflict, Invalid
from handlers.base import SLUG
from handlers.console_base import ConsoleHandler


class HomePage(ConsoleHandler):
    async def get(self) -> None:
        session = self.session
        if session is None:
            return
        if not session.is_operator:
            tenant = self.gw.registry.by_id(session.tenant_id)
            if tenant is None:
                raise tornado.web.HTTPError(404)
            self.redirect(f"/console/t/{tenant.slug}/")
            return
        reader = HealthReader(self.gw.storage, self.gw.clock)
        rows = []
        for tenant in self.gw.registry.all():
            checks = await self.gw.checklist.build(tenant, probe=False)
            steps = plain_steps_authorized(checks, tenant) if tenant.authorization else plain_steps(checks)  # the seed's eight steps, as on the tenant's checklist page
            health = await reader.of(tenant.id, [s.state == "done" for s in steps])
            rows.append((tenant, health))
        message = self.t("密码已修改。") if self.get_query_argument("changed", None) else None
        self.render_console("tenants.html", section="tenants", rows=rows, when=beijing_time, message=message)


class NewTenantPage(ConsoleHandler):
    operator_only = True

    def get(self) -> None:
        self.render_console("tenant_new.html", section="new", values={"message_mode": "plain"})

    async def post(self) -> None:
        form = self.form_dict()
        result = read_settings(form, self.checked, creating=True)
        if not result.errors:
            try:
                tenant, api_key = await self.gw.registry.create(result.body)
            except Conflict:
                result.errors["slug"] = self.t("企业代码或 AppID 已被其他租户使用。")
            except Invalid as exc:
                result.errors.update(field_errors(exc.details.get("problems") or [exc.message]))
            else:
                await self.gw.audit.record(tenant.id, self.actor, "tenant.created", tenant.slug)
                self.render_console("secret_once.html", tenant=tenant, section="keys",
                                    heading=self.t("租户已创建"), secrets=[
                                        (self.t("API 密钥（业务系统调用接口用）"), api_key),
                                        (self.t("Webhook 签名密钥"), tenant.secrets.webhook_secret)],
                                    next_url=f"/console/t/{tenant.slug}/")
                return
        self.render_console("tenant_new.html", section="new", status=400, values=form_values(form, self.checked),
                            errors=self.translate_errors(result.errors))

    def translate_errors(self, errors: dict[str, str]) -> dict[str, str]:
        return {k: self.t(v) for k, v in errors.items()}


class DeleteTenantPage(ConsoleHandler):
    operator_only = True

    def get(self, slug: str) -> None:
        self.render_console("tenant_delete.html", tenant=self.tenant(slug), section="delete")

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        if self.form("confirm").strip() != tenant.slug:
            self.render_console("tenant_delete.html", tenant=tenant, section="delete", status=400,
                                errors={"confirm": self.t("请输入企业代码以确认删除。")})
            return
        await self.gw.registry.delete(slug)
        self.gw.state.forget_local(tenant.id)
        await self.gw.audit.record(OPERATOR_TENANT, self.actor, "tenant.deleted", slug)
        self.redirect("/console/?deleted=" + slug)


class AccountsPage(ConsoleHandler):
    """Console accounts of one scope: the operator's (no slug) or a tenant's administrators."""
    operator_only = True

    def scope(self, slug: str | None) -> tuple[int, Any]:
        if slug is None:
            return OPERATOR_TENANT, None
        tenant = self.tenant(slug)
        return tenant.id, tenant

    async def get(self, slug: str | None = None) -> None:
        await self.show(slug)

    async def show(self, slug: str | None, status: int = 200, errors: dict[str, str] | None = None,
                   created: tuple[str, str] | None = None, message: str | None = None) -> None:
        tenant_id, tenant = self.scope(slug)
        accounts = await self.gw.console.accounts.list(tenant_id)
        self.render_console("accounts.html", tenant=tenant, section="admins" if tenant else "operators",
                            accounts=accounts, status=status, errors=errors or {}, created=created, iso=iso,
                            message=message)

    async def post(self, slug: str | None = None) -> None:
        tenant_id, _ = self.scope(slug)
        service = self.gw.console.accounts
        action = self.form("action")
        try:
            if action == "create":
                login = self.form("login").strip()
                password = await service.create(tenant_id, login, self.actor, self.form("totp_required") == "on")
                await self.show(slug, created=(login, password))
                return
            account_id = int(self.form("account_id") or "0")
            if action == "reset":
                account = await service.get(tenant_id, account_id)
                password = await service.reset_password(tenant_id, account_id, self.actor)
                await self.show(slug, created=(account.login if account else "", password))
                return
            if action in ("totp_on", "totp_off"):
                await service.set_totp_required(tenant_id, account_id, action == "totp_on", self.actor)
            elif action == "delete":
                await service.delete(tenant_id, account_id, self.actor)
            else:
                raise tornado.web.HTTPError(400)
        except Conflict:
            await self.show(slug, 400, {"login": self.t("这个账号已经存在。")})
            return
        except Invalid:
            await self.show(slug, 400, {"login": self.t("账号不能为空，最多 64 个字，不能含控制字符或 / \\ ? #。")})
            return
        except ValueError:
            raise tornado.web.HTTPError(400) from None
        await self.show(slug, message=self.t("已保存。"))


ROUTES = [
    (r"/console/?", HomePage),
    (r"/console/tenants/new", NewTenantPage),
    (r"/console/operators", AccountsPage),
    (rf"/console/t/{SLUG}/admins", AccountsPage),
    (rf"/console/t/{SLUG}/delete", DeleteTenantPage),
]
