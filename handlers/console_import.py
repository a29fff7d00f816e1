"""The console's import of a people sheet: upload, preview with the column mapping, dry run,
import (all or nothing), and the one-time download of generated passwords. Every step goes
through SheetImport; the upload is held sealed between steps, named by an unguessable token."""
from __future__ import annotations

import tornado.web

from gateway.accounts.import_mapping import FIELDS, Mapping_, mapping_from_form
from gateway.accounts.sheet_check import PASSWORD_MODES, SheetPlan
from gateway.platform.errors import Invalid, InvalidRows, NotFound, TooLarge
from gateway.console.health import beijing_time
from gateway.platform.tenant import Tenant
from handlers.base import SLUG
from handlers.console_tenant import TenantPage

TOKEN = r"(?P<token>[A-Za-z0-9_-]{16,48})"
FIELD_LABELS = {"login": "账号", "name": "姓名", "position": "职位", "wechat": "微信号", "kind": "类型",
                "password": "密码"}
MODE_LABELS = {"generate": "为每个新账号随机生成（导入后下载一次）", "column": "使用表格中的密码列",
               "same": "所有新账号使用同一个初始密码", "none": "不设密码（之后在人员账号中逐个重置）"}


class ImportPage(TenantPage):
    def render_console(self, template: str, tenant: Tenant | None = None, section: str = "", status: int = 200,
                       **values: object) -> None:
        values.setdefault("sheets", [])  # the upload page's sheets of passwords waiting to be downloaded
        values.setdefault("when", beijing_time)
        super().render_console(template, tenant, section, status, **values)


class ImportStart(ImportPage):
    async def get(self, slug: str) -> None:
        tenant = self.tenant(slug)
        self.render_console("import_upload.html", tenant=tenant, section="import",
                            sheets=await self.gw.sheet_import.waiting_sheets(tenant))

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        files = self.request.files.get("file") or []
        if not files or not files[0]["body"]:
            self.render_console("import_upload.html", tenant=tenant, section="import", status=400,
                                errors={"_form": self.t("请选择要导入的 .csv 或 .xlsx 文件。")})
            return
        try:
            token = await self.gw.sheet_import.upload(tenant, files[0]["filename"] or "", files[0]["body"])
        except (Invalid, InvalidRows, TooLarge) as exc:
            self.render_console("import_upload.html", tenant=tenant, section="import", status=400,
                                errors={"_form": self.pick(exc.message)})
            return
        self.redirect(f"/console/t/{tenant.slug}/people/import/{token}")


class ImportSheet(ImportPage):
    def expired(self, tenant: Tenant, exc: NotFound) -> None:
        """An upload past its hour, used up by an import, or never made: upload again."""
        self.render_console("import_upload.html", tenant=tenant, section="import", status=404,
                            errors={"_form": self.pick(exc.message)})

    async def get(self, slug: str, token: str) -> None:
        tenant = self.tenant(slug)
        try:
            preview = await self.gw.sheet_import.preview(tenant, token)
        except NotFound as exc:
            self.expired(tenant, exc)
            return
        await self.show(tenant, token, preview.mapping, "generate", None)

    async def show(self, tenant: Tenant, token: str, mapping: Mapping_, mode: str, plan: SheetPlan | None,
                   error: str | None = None, status: int = 200, imported: bool = False) -> None:
        preview = await self.gw.sheet_import.preview(tenant, token)
        self.render_console("import_sheet.html", tenant=tenant, section="import", token=token, preview=preview,
                            mapping=mapping, mode=mode, plan=plan, fields=FIELDS, field_labels=FIELD_LABELS,
                            modes=PASSWORD_MODES, mode_labels=MODE_LABELS, pick=self.pick, status=status,
                            errors={"_form": error} if error else {})

    async def post(self, slug: str, token: str) -> None:
        tenant = self.tenant(slug)
        action = self.form("action")
        if action not in ("check", "import"):
            raise tornado.web.HTTPError(400)
        try:
            table = await self.gw.sheet_import.table(tenant, token)
        except NotFound as exc:
            self.expired(tenant, exc)
            return
        mapping = mapping_from_form({f: self.form(f"col_{f}") for f in FIELDS}, len(table[0]))
        mode, same = self.form("mode"), self.get_body_argument("same_password", "") or ""
        try:
            if action == "check":
                plan = await self.gw.sheet_import.check(tenant, token, mapping, mode, same)
                await self.show(tenant, token, mapping, mode, plan, status=422 if plan.bad else 200)
                return
            result = await self.gw.sheet_import.run(tenant, token, mapping, mode, same, self.actor)
        except Invalid as exc:
            await self.show(tenant, token, mapping, mode, None, error=self.pick(exc.message), status=400)
            return
        except InvalidRows as exc:
            plan = SheetPlan(bad=exc.details["rows"])
            await self.show(tenant, token, mapping, mode, plan, status=422,
                            error=self.t("有问题的行见下表，没有导入任何数据。请改正表格后重新上传，或调整列的对应关系。"))
            return
        self.render_console("import_done.html", tenant=tenant, section="import", result=result,
                            must_change=bool(tenant.policy["first_login_change_password"]) and mode != "none")


class GeneratedPasswords(ImportPage):
    async def get(self, slug: str, token: str) -> None:
        data = await self.gw.sheet_import.take_passwords(self.tenant(slug), token)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", "attachment; filename=\"initial-passwords.csv\"")
        self.write(data)


ROUTES = [
    (rf"/console/t/{SLUG}/people/import", ImportStart),
    (rf"/console/t/{SLUG}/people/import/{TOKEN}", ImportSheet),
    (rf"/console/t/{SLUG}/people/import/passwords/{TOKEN}\.csv", GeneratedPasswords),
]
