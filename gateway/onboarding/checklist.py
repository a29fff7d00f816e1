"""The onboarding checklist: one live check per step of connecting a tenant's WeChat
service account, each saying in plain Chinese and English what to do when it is not done."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Protocol

from gateway.onboarding.checklist_authorized import authorized_steps
from gateway.platform.tenant_state import TenantState
from gateway.platform.tenant import Tenant

CredentialsProbe = Callable[[Tenant], Awaitable[bool | None]]


def _step(step_id: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"id": step_id, "ok": ok, "detail": detail}


async def build_checklist(tenant: Tenant, state: TenantState, public_url: str, verify_files: list[str],
                          probe_credentials: CredentialsProbe | None = None) -> dict[str, Any]:
    facts = await state.all(tenant.id)
    urls = tenant.urls(public_url)
    steps: list[dict[str, Any]] = []

    ok = await probe_credentials(tenant) if probe_credentials else facts.get("credentials_ok")
    facts = await state.all(tenant.id) if probe_credentials else facts
    blocked_ip = facts.get("ip_blocked")
    if tenant.authorization:  # third-party platform mode: no AppSecret, whitelist, server URL or domain steps
        steps.extend(authorized_steps(tenant, facts, ok))
    elif ok:
        steps.append(_step("credentials", True, "AppID 与 AppSecret 可用，已取得 access_token。 / "
                           "AppID and AppSecret work: an access_token was fetched."))
    elif facts.get("bad_credentials"):
        steps.append(_step("credentials", False, "AppID 或 AppSecret 不正确：请在 微信开发者平台 → 基本配置 "
                           "中核对或重置 AppSecret，再用 PATCH 更新。 / The AppID or AppSecret is wrong: check or "
                           "reset the AppSecret in WeChat's basic configuration and PATCH the tenant."))
    else:
        steps.append(_step("credentials", None if blocked_ip is None and ok is None else False,
                           "尚未能取得 access_token。 / No access_token could be fetched yet."
                           + (" 先完成 IP 白名单。 / Whitelist the IP first." if blocked_ip else "")))

    if tenant.authorization:
        pass
    elif blocked_ip:
        steps.append(_step("ip_whitelist", False, f"请在 基本配置 → IP白名单 中加入 {blocked_ip}，约 5 分钟生效。 / "
                           f"Add {blocked_ip} to the IP whitelist in WeChat's basic configuration "
                           "(takes about 5 minutes)."))
    else:
        steps.append(_step("ip_whitelist", True if ok else None,
                           "未发现 IP 白名单错误 (40164)。 / No IP-whitelist error (40164) seen."))

    if tenant.authorization:
        pass
    elif facts.get("callback_seen"):
        steps.append(_step("callback", True, "已收到微信签名正确的回调。 / A correctly signed call from WeChat "
                           "has arrived."))
    else:
        steps.append(_step("callback", False, f"请在 基本配置 → 服务器配置 中填写 URL {urls['callback']}、"
                           "Token 与 EncodingAESKey（与本网关中一致），并启用。 / In WeChat's server configuration "
                           f"enter the URL {urls['callback']}, the same Token and EncodingAESKey, and enable it."))

    if tenant.authorization:
        pass
    elif verify_files:
        steps.append(_step("oauth_domain", True, f"校验文件 {verify_files[0]} 已上传并由网关提供；网页授权域名应为 "
                           f"{urls['oauth_domain']}。 / The verify file is served; the web authorisation domain "
                           f"is {urls['oauth_domain']}."))
    else:
        steps.append(_step("oauth_domain", False, f"请在 设置与开发 → 功能设置 → 网页授权域名 填写 "
                           f"{urls['oauth_domain']}，下载 MP_verify_*.txt 并通过 PUT verify-file 上传。 / Set the "
                           f"web authorisation domain to {urls['oauth_domain']}, download the MP_verify_*.txt "
                           "file and upload it with PUT verify-file."))

    templates = tenant.templates
    missing = [role for role in ("approver", "cc") if role not in templates]
    template_error = facts.get("template_error")
    if missing:
        steps.append(_step("templates", False, f"缺少模板：{', '.join(missing)}。请在 模板消息 中选用模板并填写 "
                           f"template_id。 / Templates missing for {', '.join(missing)}: pick templates in WeChat's "
                           "template messages and set their template_id."))
    elif template_error:
        steps.append(_step("templates", False, f"微信拒绝了模板：{template_error}。请核对 template_id 与字段。 / WeChat "
                           f"refused a template ({template_error}): check the template_id and its keys."))
    else:
        steps.append(_step("templates", True if facts.get("template_sent") else None,
                           "模板已配置" + ("，已成功发送。" if facts.get("template_sent") else "，尚未发送过。")
                           + " / Templates are configured" + (" and a message was sent." if facts.get(
                               "template_sent") else "; none sent yet.")))

    if facts.get("menu"):
        steps.append(_step("menu", True, "菜单已推送。 / The menu was pushed."))
    else:
        steps.append(_step("menu", False, "请用 PUT menu 推送菜单（启用服务器配置后，后台菜单编辑器失效）。 / Push a "
                           "menu with PUT menu (once the server URL is enabled, WeChat's own menu editor stops)."))

    if facts.get("first_binding"):
        steps.append(_step("first_binding", True, "已有用户绑定微信。 / Someone has bound their WeChat."))
    else:
        steps.append(_step("first_binding", False, "请用手机微信打开菜单中的链接并登录一次，完成首个绑定。 / Open "
                           "the menu link in WeChat on a phone and sign in once to make the first binding."))
    return {"steps": steps}


class VerifyFiles(Protocol):
    async def verify_files_of(self, tenant: Tenant) -> list[str]: ...


class Checklist:
    """The checklist of one tenant, built from what the gateway has seen and a live credentials probe."""

    def __init__(self, state: TenantState, files: VerifyFiles, probe: CredentialsProbe, public_url: str) -> None:
        self.state, self.files, self.probe, self.public_url = state, files, probe, public_url

    async def build(self, tenant: Tenant, probe: bool = True) -> dict[str, Any]:
        """The steps; `probe` asks WeChat for a token now, else the last outcome seen is shown."""
        files = await self.files.verify_files_of(tenant)
        return await build_checklist(tenant, self.state, self.public_url, files, self.probe if probe else None)
