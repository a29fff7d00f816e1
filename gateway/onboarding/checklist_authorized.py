"""The checklist of a tenant connected by authorization (third-party platform mode): no AppSecret,
IP whitelist, server URL or domain steps; what remains is the authorization itself (withdrawn?),
the permission sets the gateway needs, WeChat certification, templates, the menu and a first
binding, each said in plain words."""
from __future__ import annotations

from typing import Any

from gateway.onboarding.checklist_text import PlainStep, _state
from gateway.platform.tenant import Tenant

# Permission set -> what the gateway does with it (WECHAT-COMPONENT.md §8.1).
NEEDED = {1: "消息管理（接收消息、回复待办）", 3: "账号服务（扫码绑定的二维码）", 4: "网页服务（员工在微信中登录）",
          7: "群发与通知（发送单据提醒）", 15: "菜单管理（发布服务号菜单）"}


FUNC_NAMES = {1: "消息管理", 2: "用户管理", 3: "账号服务", 4: "网页服务", 7: "群发与通知", 11: "素材管理",
              15: "菜单管理", 24: "开放平台账号管理"}


def account_facts(tenant: Tenant) -> list[tuple[str, str]]:
    """What the console shows of the authorized account: (label, value), in Chinese."""
    auth = tenant.authorization or {}
    service = {0: "订阅号", 1: "订阅号（老帐号升级）", 2: "服务号"}.get(int(auth.get("service_type", 2)), "其他")
    verified = "未认证" if int(auth.get("verify_type", 0)) < 0 else "已认证"
    funcs = "、".join(FUNC_NAMES.get(int(i), str(i)) for i in auth.get("func_info") or []) or "无"
    status = "已授权" if auth.get("status") == "authorized" else "已解除授权"
    return [("公众号名称", str(auth.get("nick_name") or "")), ("原始 ID", tenant.original_id or ""),
            ("AppID", tenant.app_id), ("账号类型", service), ("微信认证", verified), ("已授权的权限集", funcs),
            ("授权状态", status)]


def _step(step_id: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"id": step_id, "ok": ok, "detail": detail}


def authorized_steps(tenant: Tenant, facts: dict[str, Any], token_ok: bool | None) -> list[dict[str, Any]]:
    auth = tenant.authorization or {}
    name = auth.get("nick_name") or tenant.name
    steps: list[dict[str, Any]] = []
    blocked_ip = facts.get("ip_blocked")
    if auth.get("status") != "authorized":
        steps.append(_step("authorization", False, f"公众号「{name}」已解除对本平台的授权，所有消息提醒已暂停。请公众号管理员在"
                           "控制台“授权接入”重新扫码授权，授权后暂停的提醒会自动补发。 / The account withdrew its "
                           "authorization: every notification is on hold. Authorize again from 授权接入 to resume."))
    elif blocked_ip and not token_ok:
        steps.append(_step("authorization", False, f"微信拒绝了本平台的出口 IP {blocked_ip}：请在开放平台 → 第三方平台 → "
                           f"开发资料 的“白名单IP地址列表”中加入 {blocked_ip}。 / WeChat refused the platform's egress "
                           f"IP {blocked_ip}: add it to the platform's IP whitelist on the Open Platform."))
    elif token_ok is False or facts.get("bad_credentials"):
        steps.append(_step("authorization", False, "微信不再接受本平台代公众号调用接口：请重新扫码授权。 / WeChat no longer "
                           "accepts the platform's calls for this account: authorize again."))
    else:
        steps.append(_step("authorization", True if token_ok or facts.get("credentials_ok") else None,
                           f"公众号「{name}」已授权本平台，无需提供 AppSecret、IP 白名单或服务器配置。 / The account "
                           "authorized the platform: no AppSecret, IP whitelist or server settings are needed."))
    granted = set(auth.get("func_info") or [])
    missing = [NEEDED[i] for i in sorted(NEEDED) if i not in granted]
    if missing:
        steps.append(_step("permissions", False, "授权时没有勾选：" + "、".join(missing) + "。请重新扫码授权并勾选这些权限，"
                           "否则对应功能无法使用。 / Some permission sets were not granted: authorize again and tick them."))
    else:
        steps.append(_step("permissions", True, "所需权限均已授权。 / Every permission set needed is granted."))
    service, verified = auth.get("service_type", 2), auth.get("verify_type", 0)
    if service != 2:
        steps.append(_step("verified", False, "授权的是订阅号：模板消息只能由服务号发送。请改用企业的服务号授权。 / A "
                           "subscription account was authorized: only a service account can send template messages."))
    elif verified is not None and int(verified) < 0:
        steps.append(_step("verified", False, "服务号尚未微信认证：认证前不能发送模板消息、不能使用网页授权。请在公众平台"
                           "“设置 → 微信认证”中完成认证。 / The service account is not certified yet: certify it first."))
    else:
        steps.append(_step("verified", True, "已认证的服务号。 / A certified service account."))
    return steps


REVOKED = ("公众号「{name}」已解除对本平台的授权，所有单据提醒已暂停。请公众号管理员在控制台“授权接入”重新扫码授权，"
           "授权后暂停的提醒会自动补发。")
REFUSED = "微信不再接受本平台代公众号调用接口：请公众号管理员在控制台“授权接入”重新扫码授权。"
IP_BLOCKED = "微信拒绝了本平台的出口 IP {ip}：请在开放平台 → 第三方平台 → 开发资料 的“白名单IP地址列表”中加入 {ip}。"
MISSING = "授权时没有勾选：{missing}。请重新扫码授权并勾选这些权限，否则对应功能无法使用。"
SUBSCRIPTION = "授权的是订阅号：模板消息只能由服务号发送。请改用企业的服务号授权。"
UNCERTIFIED = "服务号尚未微信认证：认证前不能发送模板消息、不能使用网页授权。请在公众平台“设置 → 微信认证”中完成认证。"


def authorized_values(tenant: Tenant) -> dict[str, str]:
    """The names filled into the console's texts ({name}, {missing})."""
    auth = tenant.authorization or {}
    granted = set(auth.get("func_info") or [])
    return {"name": str(auth.get("nick_name") or tenant.name),
            "missing": "、".join(NEEDED[i] for i in sorted(NEEDED) if i not in granted)}


def plain_steps_authorized(checks: dict[str, Any], tenant: Tenant, blocked_ip: str | None = None) -> list[PlainStep]:
    """The console's steps for a tenant in authorized mode (the seed's eight shrink to six)."""
    ok = {step["id"]: step["ok"] for step in checks["steps"]}
    auth = tenant.authorization or {}
    return [
        PlainStep(1, "授权接入（公众号管理员扫码授权）", _state(ok.get("authorization")),
                  REVOKED if tenant.suspended else (IP_BLOCKED if blocked_ip else REFUSED), None, ""),
        PlainStep(2, "授权所需的权限集", _state(ok.get("permissions")), MISSING, None, ""),
        PlainStep(3, "认证微信服务号", _state(ok.get("verified")),
                  SUBSCRIPTION if auth.get("service_type", 2) != 2 else UNCERTIFIED, None, ""),
        PlainStep(4, "开启消息模板", _state(ok.get("templates")),
                  "在“广告与服务 → 模板消息”中选好审批和抄送两个模板，把模板 ID 填到本系统的模板页。", "templates", "去设置模板"),
        PlainStep(5, "设置服务号菜单", _state(ok.get("menu")), "在本系统的菜单页编辑并发布菜单。", "menu", "去编辑菜单"),
        PlainStep(6, "首个员工绑定", _state(ok.get("first_binding")),
                  "请用手机微信打开服务号菜单，登录一次完成首个绑定。", None, ""),
    ]
