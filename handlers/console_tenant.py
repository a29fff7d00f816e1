"""A tenant's console pages: the live checklist in plain words, the seed's settings page, the
template mapping with a preview cut to WeChat's limits, and keyword replies. Every change goes
through the tenant registry, as the admin API's do, and is audited with the console actor."""
from __future__ import annotations

import re
from typing import Any

from gateway.console.settings_form import FIELDS, current_values, field_errors, form_values, read_settings
from gateway.onboarding.checklist_authorized import account_facts, authorized_values, plain_steps_authorized
from gateway.onboarding.checklist_text import plain_steps, todo_values
from gateway.platform.errors import Conflict, Invalid
from gateway.platform.tenant import Tenant
from gateway.wechat.template_data import render_template_data
from handlers.base import SLUG
from handlers.console_base import ConsoleHandler

ROLES = (("approver", "审批人通知"), ("cc", "抄送通知"))
SAMPLE = {"doc_id": "PR-2026-0042", "type": "采购申请",
          "title": "采购申请：研发部 ThinkPad X1 Carbon 笔记本电脑两台及扩展坞、显示器等配件",
          "summary": "两台笔记本电脑及配件，预算 ¥24,000", "applicant": "张三（研发部）",
          "submitted_at": "2026-03-05T09:30:00+08:00"}
_LINE = re.compile(r"^\s*([a-z_]+[0-9]*)\s*[=:：]\s*(.+?)\s*$")
MAX_REPLY_ROWS = 200


class TenantPage(ConsoleHandler):
    async def audit(self, tenant: Tenant, action: str, detail: dict[str, Any] | None = None) -> None:
        await self.gw.audit.record(tenant.id, self.actor, action, tenant.slug, detail)


class ChecklistPage(TenantPage):
    async def get(self, slug: str) -> None:
        await self.show(self.tenant(slug), probe=False)

    async def post(self, slug: str) -> None:
        await self.show(self.tenant(slug), probe=True)

    async def show(self, tenant: Tenant, probe: bool) -> None:
        checks = await self.gw.checklist.build(tenant, probe=probe)
        blocked = await self.gw.state.get(tenant.id, "ip_blocked")
        urls = tenant.urls(self.gw.public_url)
        blocked_ip = blocked if isinstance(blocked, str) else None
        steps = plain_steps_authorized(checks, tenant, blocked_ip) if tenant.authorization else plain_steps(checks)
        bound = any(s["id"] == "first_binding" and s["ok"] for s in checks["steps"])
        self.render_console("checklist.html", tenant=tenant, section="checklist", steps=steps, urls=urls,
                            todo_values={**todo_values(urls, blocked_ip), **authorized_values(tenant)},
                            account=account_facts(tenant) if tenant.authorization else [],
                            bound=bound, checked=probe, message=self.t("已重新检查。") if probe else None)


class SettingsPage(TenantPage):
    def get(self, slug: str) -> None:
        tenant = self.tenant(slug)
        message = self.t("设置已保存。") if self.get_query_argument("saved", None) else None
        self.show(tenant, current_values(tenant), {}, message=message)

    def show(self, tenant: Tenant, values: dict[str, Any], errors: dict[str, str], status: int = 200,
             message: str | None = None) -> None:
        self.render_console("settings.html", tenant=tenant, section="settings", values=values, errors=errors,
                            status=status, urls=tenant.urls(self.gw.public_url), fields=FIELDS, message=message,
                            has=current_values(tenant))

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        form = self.form_dict()
        result = read_settings(form, self.checked, creating=False)
        if not result.errors:
            try:
                await self.gw.registry.patch(slug, result.body)
            except Conflict:
                result.errors["app_id"] = "这个 AppID 已被其他租户使用。"
            except Invalid as exc:
                result.errors.update(field_errors(exc.details.get("problems") or [exc.message]))
            else:
                await self.audit(tenant, "tenant.changed", {"fields": sorted(result.body)})
                self.redirect(f"/console/t/{slug}/settings?saved=1")
                return
        errors = {k: self.t(v) for k, v in result.errors.items()}
        errors.setdefault("_form", self.t("有几项需要修改，设置没有保存。请按红字提示修改后再保存。"))
        self.show(tenant, {**current_values(tenant), **form_values(form, self.checked)}, errors, status=400)


def mapping_text(mapping: dict[str, str]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in mapping.items())


def parse_mapping(text: str) -> dict[str, str] | None:
    mapping: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            return None
        mapping[match.group(1)] = match.group(2)
    return mapping


class TemplatesPage(TenantPage):
    def get(self, slug: str) -> None:
        tenant = self.tenant(slug)
        values = {role: {"template_id": spec.get("template_id", ""), "data": mapping_text(spec.get("data") or {})}
                  for role, spec in tenant.templates.items()}
        message = self.t("模板已保存。") if self.get_query_argument("saved", None) else None
        self.show(tenant, values, {}, message=message)

    def show(self, tenant: Tenant, values: dict[str, Any], errors: dict[str, str], status: int = 200,
             message: str | None = None) -> None:
        previews = {}
        for role, _ in ROLES:
            mapping = parse_mapping(values.get(role, {}).get("data", "")) or {}
            previews[role] = render_template_data(mapping, SAMPLE) if mapping else {}
        self.render_console("templates.html", tenant=tenant, section="templates", roles=ROLES, values=values,
                            errors=errors, previews=previews, sample=SAMPLE, status=status, message=message)

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        values: dict[str, dict[str, str]] = {}
        templates: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for role, _ in ROLES:
            tid, text = self.form(f"{role}_template_id").strip(), self.form(f"{role}_data")
            values[role] = {"template_id": tid, "data": text}
            if not tid and not text.strip():
                continue
            mapping = parse_mapping(text)
            if not tid or len(tid) > 128:
                errors[f"{role}_template_id"] = self.t("请填写微信后台“模板消息”中的模板 ID。")
            if not mapping:
                errors[f"{role}_data"] = self.t("每行写成 关键字 = 内容，例如 thing1 = {title}；关键字照抄模板详情里的 {{ }} 中的名字。")
            elif any(len(v) > 200 for v in mapping.values()):
                errors[f"{role}_data"] = self.t("每项内容最多 200 个字。")
            templates[role] = {"template_id": tid, "data": mapping or {}}
        if self.form("action") == "preview" or errors:
            if errors:
                errors["_form"] = self.t("有几项需要修改，模板没有保存。")
            self.show(tenant, values, errors, status=400 if errors else 200)
            return
        # Roles left empty are removed (merge patch: null), the others replaced whole.
        wanted = {role: templates.get(role) for role, _ in ROLES}
        try:
            await self.gw.registry.patch(slug, _replace_templates(tenant, wanted))
        except Invalid:
            self.show(tenant, values, {"_form": self.t("模板设置无效，没有保存。请检查模板 ID 和关键字。")}, status=400)
            return
        await self.audit(tenant, "tenant.changed", {"fields": ["templates"]})
        self.redirect(f"/console/t/{slug}/templates?saved=1")


def _replace_templates(tenant: Tenant, wanted: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that leaves exactly `wanted` as the templates (keys of the old data dropped)."""
    patch: dict[str, Any] = {}
    for role, spec in wanted.items():
        if spec is None:
            patch[role] = None
            continue
        old = (tenant.templates.get(role) or {}).get("data") or {}
        data = {k: None for k in old if k not in spec["data"]}
        data.update(spec["data"])
        patch[role] = {"template_id": spec["template_id"], "data": data}
    return {"templates": patch}


class RepliesPage(TenantPage):
    def get(self, slug: str) -> None:
        tenant = self.tenant(slug)
        message = self.t("关键词回复已保存。") if self.get_query_argument("saved", None) else None
        self.show(tenant, list(tenant.replies), {}, message=message)

    def show(self, tenant: Tenant, rules: list[dict[str, str]], errors: dict[str, str], status: int = 200,
             message: str | None = None) -> None:
        rows = rules + [{"match": "exact", "keyword": "", "reply": ""}] * 3
        self.render_console("replies.html", tenant=tenant, section="replies", rows=rows, errors=errors,
                            status=status, message=message)

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        matches, keywords, replies = (self.get_body_arguments(n) for n in ("match", "keyword", "reply"))
        rules: list[dict[str, str]] = []
        errors: dict[str, str] = {}
        for i, (match, keyword, reply) in enumerate(zip(matches, keywords, replies)):
            keyword, reply = keyword.strip(), reply.strip()
            if not keyword and not reply:
                continue
            row = len(rules)
            rules.append({"match": match if match in ("exact", "contains") else "exact", "keyword": keyword,
                          "reply": reply})
            if not 1 <= len(keyword) <= 60:
                errors[f"keyword{row}"] = self.t("关键词需要 1 到 60 个字。")
            if not 1 <= len(reply.encode()) <= 2000:
                errors[f"reply{row}"] = self.t("回复内容不能为空，最多约 600 个汉字。")
        if len(rules) > MAX_REPLY_ROWS:
            errors["_form"] = self.t("最多 200 条规则。")
        if errors:
            errors.setdefault("_form", self.t("有几项需要修改，关键词回复没有保存。"))
            self.show(tenant, rules, errors, status=400)
            return
        await self.gw.registry.set_replies(slug, {"rules": rules})
        await self.audit(tenant, "tenant.replies_changed", {"rules": len(rules)})
        self.redirect(f"/console/t/{slug}/replies?saved=1")


ROUTES = [
    (rf"/console/t/{SLUG}/?", ChecklistPage),
    (rf"/console/t/{SLUG}/settings", SettingsPage),
    (rf"/console/t/{SLUG}/templates", TemplatesPage),
    (rf"/console/t/{SLUG}/replies", RepliesPage),
]
