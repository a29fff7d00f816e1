"""A tenant's console tools: the menu editor (pushed through MenuService, WeChat's answer shown),
the verify-file upload, API key and webhook secret rotation (shown once) and a test event."""
from __future__ import annotations

from typing import Any

from gateway.console.menu_form import (SUB_NAME_BYTES, TARGETS, TOP_NAME_BYTES, menu_from_form, plain_reason,
                                       row_index_map, rows_of)
from gateway.platform.errors import Conflict, Invalid, Unavailable
from gateway.platform.tenant import Tenant
from gateway.wechat.menu_rules import DEFAULT_MENU
from handlers.base import SLUG
from handlers.console_tenant import TenantPage

MAX_VERIFY_BYTES = 1024


class MenuPage(TenantPage):
    async def get(self, slug: str) -> None:
        tenant = self.tenant(slug)
        pushed = await self.gw.state.get(tenant.id, "menu")
        self.show(tenant, rows_of(pushed or DEFAULT_MENU, self.entry_prefix(tenant)), {}, pushed=bool(pushed))

    def entry_prefix(self, tenant: Tenant) -> str:
        return self.gw.menus.entry_url(tenant, "")

    def show(self, tenant: Tenant, rows: Any, errors: dict[str, str], status: int = 200, pushed: bool = False,
             answer: tuple[bool, str] | None = None) -> None:
        self.render_console("menu.html", tenant=tenant, section="menu", rows=rows, errors=errors, status=status,
                            targets=TARGETS, top_bytes=TOP_NAME_BYTES, sub_bytes=SUB_NAME_BYTES, pushed=pushed,
                            answer=answer)

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        menu, rows = menu_from_form(self.form_dict())
        to_field = row_index_map(rows)
        try:
            await self.gw.menus.push(tenant, menu, actor=self.actor)
        except Invalid as exc:
            path = exc.details.get("path")
            if isinstance(path, str):
                field = to_field(path)
                text = self.t(plain_reason(str(exc.details.get("reason", "")), ".sub_button" in path))
                self.show(tenant, rows, {field: text, "_form": self.t("菜单没有发布：请按红字修改。")}, status=400)
            else:  # WeChat itself refused it
                errcode = exc.details.get("errcode")
                self.show(tenant, rows, {}, status=400,
                          answer=(False, self.t("微信拒绝了这个菜单") + f"（errcode {errcode}）：{exc.message}"))
            return
        except Unavailable:
            self.show(tenant, rows, {}, status=503,
                      answer=(False, self.t("暂时无法连接微信，或 AppID/Secret、IP 白名单还没有设置好。请先完成接入检查表的第 3、4 步。")))
            return
        self.show(tenant, rows, {}, pushed=True, answer=(True, self.t("微信已接受菜单（errcode 0）。手机上通常几分钟内更新，重新关注可立即看到。")))


class VerifyFilePage(TenantPage):
    async def get(self, slug: str) -> None:
        await self.show(self.tenant(slug))

    async def show(self, tenant: Tenant, errors: dict[str, str] | None = None, status: int = 200,
                   message: str | None = None) -> None:
        files = await self.gw.registry.verify_files_of(tenant)
        self.render_console("verify.html", tenant=tenant, section="verify", files=files, errors=errors or {},
                            status=status, message=message, domain=tenant.urls(self.gw.public_url)["oauth_domain"],
                            base=self.gw.public_url)

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        uploads = self.request.files.get("file") or []
        if not uploads:
            await self.show(tenant, {"file": self.t("请选择从微信后台下载的 MP_verify_….txt 文件。")}, 400)
            return
        upload = uploads[0]
        name = (upload.filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        try:
            content = upload.body.decode("utf-8").strip() if len(upload.body) <= MAX_VERIFY_BYTES else ""
        except UnicodeDecodeError:
            content = ""
        try:
            await self.gw.registry.put_verify_file(slug, {"name": name, "content": content})
        except Conflict:
            await self.show(tenant, {"file": self.t("这个文件名已被另一个企业上传过，请确认下载的是本服务号的校验文件。")}, 409)
            return
        except Invalid as exc:
            text = (self.t("文件名应为 MP_verify_ 开头的 .txt 文件，请直接上传微信后台下载的文件，不要改名。")
                    if exc.details.get("field") == "name" else self.t("文件内容不对：应是不超过 1024 字的一行文字。"))
            await self.show(tenant, {"file": text}, 400)
            return
        await self.audit(tenant, "tenant.verify_file", {"name": name})
        await self.show(tenant, message=self.t("校验文件已上传。请回到微信后台点“确定”完成验证。"))


class KeysPage(TenantPage):
    def get(self, slug: str) -> None:
        self.render_console("keys.html", tenant=self.tenant(slug), section="keys", result=None)

    async def post(self, slug: str) -> None:
        tenant = self.tenant(slug)
        action = self.form("action")
        if action == "api_key":
            secret = await self.gw.registry.rotate_api_key(slug)
            await self.audit(tenant, "tenant.api_key_rotated")
            label = self.t("新的 API 密钥（旧密钥已立即失效）")
        elif action == "webhook_secret":
            secret = await self.gw.registry.rotate_webhook_secret(slug)
            await self.audit(tenant, "tenant.webhook_secret_rotated")
            label = self.t("新的 Webhook 签名密钥（此后的推送都用它签名）")
        elif action == "test_event":
            result = await self.gw.console.test_events.send(self.gw.registry.require(slug))
            await self.audit(tenant, "tenant.test_event", {"status": result.status})
            self.render_console("keys.html", tenant=tenant, section="keys", result=result)
            return
        else:
            self.set_status(400)
            self.render_console("keys.html", tenant=tenant, section="keys", result=None, status=400)
            return
        self.render_console("secret_once.html", tenant=tenant, section="keys", heading=self.t("密钥已更换"),
                            secrets=[(label, secret)], next_url=f"/console/t/{slug}/keys")


ROUTES = [
    (rf"/console/t/{SLUG}/menu", MenuPage),
    (rf"/console/t/{SLUG}/verify", VerifyFilePage),
    (rf"/console/t/{SLUG}/keys", KeysPage),
]
