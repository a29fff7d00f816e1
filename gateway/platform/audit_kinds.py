"""Which log each audited action belongs to (the seed's 移动端日志 or 系统日志), its words in the
console, and which records are security events: those are kept even when the tenant turned its
`logging.mobile` / `logging.system` switch off. The one place that decides all three."""
from __future__ import annotations

from typing import Any, Mapping

MOBILE, SYSTEM = "mobile", "system"

# What people do from their phones: sign-ins, bindings, unbindings, decisions, registrations.
MOBILE_ACTIONS: dict[str, str] = {
    "login.ok": "登录成功", "login.failed": "登录失败", "login.refused": "登录被拒绝", "account.locked": "账号被锁定",
    "account.bound": "绑定微信", "account.unbound": "解除绑定", "password.changed": "修改密码",
    "password.rehashed": "密码哈希升级", "account.registered": "自助注册",
    "account.registration_ignored": "重复注册（已忽略）", "document.decision": "审批",
    "document.commented": "评论", "bind_qr.scanned": "扫码绑定：扫码", "bind_qr.confirmed": "扫码绑定：确认",
    "bind_qr.cancelled": "扫码绑定：取消",
}
# Administrative changes, imports, token and menu events: everything else.
SYSTEM_ACTIONS: dict[str, str] = {
    "account.created": "新建账号", "account.updated": "修改账号", "account.departed": "标记离职",
    "account.activated": "恢复账号", "account.approved": "批准注册", "account.refused": "拒绝注册",
    "account.unlocked": "解锁账号", "accounts.imported": "导入人员", "password.reset": "重置密码",
    "notification.resent": "重发通知", "document.closed": "单据结束", "bind_qr.created": "生成绑定二维码",
    "menu.pushed": "发布菜单", "token.failed": "获取令牌失败", "token.recovered": "令牌恢复正常",
    "component.authorized": "完成授权接入", "component.unauthorized": "取消授权", "tenant.deleted": "租户已删除",
    "tenant.created": "创建租户", "tenant.changed": "修改设定", "tenant.api_key_rotated": "更换 API Key",
    "tenant.webhook_secret_rotated": "更换推送密钥", "tenant.replies_changed": "修改关键词回复",
    "tenant.verify_file": "上传校验文件", "tenant.test_event": "发送测试事件", "webhook.redelivered": "重新推送",
    "webhook.paused": "暂停推送", "webhook.resumed": "恢复推送", "console.login.ok": "控制台登录",
    "console.login.failed": "控制台登录失败", "console.account_locked": "控制台账号被锁定",
    "console.account_created": "新建管理员", "console.account_deleted": "删除管理员",
    "console.password_reset": "重置管理员密码", "console.password_changed": "管理员修改密码",
    "console.totp_required": "要求两步验证", "console.totp_off": "取消两步验证", "console.totp_enrolled": "启用两步验证",
}
# Always kept: lockouts, failed sign-ins, key and secret changes, password resets and changes,
# administrators' accounts, unbinds and departures decided by someone else, setting changes (the
# logging switches themselves among them).
SECURITY_ACTIONS = frozenset({
    "login.failed", "login.refused", "account.locked", "console.login.failed", "console.account_locked",
    "password.reset", "password.changed", "console.password_reset", "console.password_changed",
    "tenant.api_key_rotated", "tenant.webhook_secret_rotated", "tenant.changed", "tenant.created",
    "console.account_created", "console.account_deleted", "console.totp_required", "console.totp_off",
    "console.totp_enrolled", "account.departed", "account.unlocked", "component.authorized",
    "component.unauthorized", "tenant.deleted",
})
# Unbinds the person did not ask for themselves.
_ADMIN_UNBINDS = frozenset({"admin_unbind", "password_reset", "departed"})


def log_of(action: str) -> str:
    return MOBILE if action in MOBILE_ACTIONS else SYSTEM


def is_security(action: str, detail: Mapping[str, Any] | None = None) -> bool:
    if action in SECURITY_ACTIONS:
        return True
    return action == "account.unbound" and (detail or {}).get("reason") in _ADMIN_UNBINDS


def actions_of(log: str) -> dict[str, str]:
    return MOBILE_ACTIONS if log == MOBILE else SYSTEM_ACTIONS


def label(action: str) -> str:
    return MOBILE_ACTIONS.get(action) or SYSTEM_ACTIONS.get(action) or action
