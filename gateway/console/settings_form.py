"""The seed's settings page as a form: each field under its Chinese label, turned into a tenant
PATCH (or creation body) for the registry, and the registry's problems turned back into
Chinese messages next to the field they concern. Nothing is saved unless every field is right."""
from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from gateway.platform.policy_settings import CLASSES
from gateway.platform.tenant import Tenant

# (form field, tenant body path, label, what a right value looks like)
FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("slug", "slug", "企业代码", "2 到 32 位小写字母、数字或 -，以字母或数字开头；创建后不能修改"),
    ("name", "name", "企业名称", "必填，最多 100 个字"),
    ("login_column", "people.login_column", "人员档案登录列", "必填，最多 64 个字"),
    ("name_column", "people.name_column", "人员档案姓名列", "必填，最多 64 个字"),
    ("position_column", "people.position_column", "人员档案职位列", "必填，最多 64 个字"),
    ("allow_mobile_registration", "policy.allow_mobile_registration", "允许手机端注册", "开或关"),
    ("max_login_failures", "policy.max_login_failures", "登录允许密码错误次数", "请填写 1 到 100 之间的整数"),
    ("lockout_minutes", "policy.lockout_minutes", "锁定时长（分钟）", "请填写 0 到 10080 之间的整数，0 表示直到管理员解锁"),
    ("first_login_change_password", "policy.first_login_change_password", "首次登录必须修改密码", "开或关"),
    ("password_classes", "policy.password_classes", "密码复杂度控制", "从数字、字母、符号中选择"),
    ("password_min_length", "policy.password_min_length", "密码最短长度", "请填写 8 到 128 之间的整数"),
    ("webapi_url", "webapi_url", "WEBAPI接口", "以 http:// 或 https:// 开头的公网地址，不能是内网或本机地址"),
    ("app_id", "wechat.app_id", "微信服务号AppID", "wx 开头，后跟 16 位字母或数字"),
    ("app_secret", "wechat.app_secret", "微信服务号Secret", "1 到 128 位字母或数字"),
    ("wechat_column", "people.wechat_column", "微信号列", "必填，最多 64 个字"),
    ("log_mobile", "logging.mobile", "开启移动端日志", "开或关"),
    ("log_system", "logging.system", "开启系统日志", "开或关"),
    ("token", "wechat.token", "令牌 (Token)", "3 到 32 位字母或数字"),
    ("encoding_aes_key", "wechat.encoding_aes_key", "消息加解密密钥 (EncodingAESKey)", "正好 43 位字母或数字"),
    ("message_mode", "wechat.message_mode", "消息加解密方式", "兼容模式和安全模式需要先填写 EncodingAESKey"),
    ("original_id", "wechat.original_id", "原始 ID", "gh_ 开头，后跟字母或数字"),
    ("retention_days", "phone.retention_days", "已结束单据在手机端保留天数", "请填写 1 到 3650 之间的整数"),
    ("time_zone", "phone.time_zone", "手机端显示时区", "请填写时区名称，例如 Asia/Shanghai"),
)
LABELS = {name: label for name, _, label, _ in FIELDS}
_BY_PATH = sorted(((path, name, hint) for name, path, _, hint in FIELDS), key=lambda t: -len(t[0]))
WRITE_ONLY = ("app_secret", "token", "encoding_aes_key")
_ALNUM = string.ascii_letters + string.digits


def generate_token() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(32))


def generate_aes_key() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(43))


@dataclass
class FormResult:
    body: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _int(form: Mapping[str, str], name: str, result: FormResult, path: str) -> None:
    text = form.get(name, "").strip()
    if not text.lstrip("-").isdigit():
        result.errors[name] = "请填写整数"
        return
    _set(result.body, path, int(text))


def read_settings(form: Mapping[str, str], checked: Callable[[str], list[str]], creating: bool) -> FormResult:
    """The tenant body (creating) or PATCH the form asks for; write-only fields left empty keep
    their value. `checked(name)` lists the values of a multi-valued field (checkboxes)."""
    result = FormResult()
    if creating:
        result.body["slug"] = form.get("slug", "").strip()
    for name in ("name", "app_id", "webapi_url", "original_id", "login_column", "name_column",
                 "position_column", "wechat_column"):
        path = next(p for n, p, _, _ in FIELDS if n == name)
        if name not in form:
            continue
        value = form[name].strip()
        if name in ("webapi_url", "original_id") and not value:
            if not creating:
                _set(result.body, path, None)  # merge patch: removes it
            continue
        _set(result.body, path, value)
    for name in WRITE_ONLY:
        value = form.get(name, "").strip()
        if value:
            _set(result.body, next(p for n, p, _, _ in FIELDS if n == name), value)
    if "message_mode" in form:
        _set(result.body, "wechat.message_mode", form["message_mode"])
    if "max_login_failures" in form:  # the full settings page (the creation form has none of these)
        for name in ("max_login_failures", "lockout_minutes", "password_min_length"):
            if name in form:
                _int(form, name, result, f"policy.{name}")
        for name in ("allow_mobile_registration", "first_login_change_password"):
            _set(result.body, f"policy.{name}", form.get(name) == "on")
        _set(result.body, "policy.password_classes", [c for c in CLASSES
                                                      if c in checked("password_classes")])
        _set(result.body, "logging.mobile", form.get("log_mobile") == "on")
        _set(result.body, "logging.system", form.get("log_system") == "on")
    if "retention_days" in form:  # the phone's settings (their own card of the settings page)
        _int(form, "retention_days", result, "phone.retention_days")
        _set(result.body, "phone.time_zone", form.get("time_zone", "").strip())
    if creating:
        wechat = result.body.setdefault("wechat", {})
        wechat.setdefault("token", generate_token())
    return result


def field_errors(problems: list[str]) -> dict[str, str]:
    """The registry's problems (each starting with the field's path) as Chinese messages per field."""
    errors: dict[str, str] = {}
    for problem in problems:
        for path, name, hint in _BY_PATH:
            if problem.startswith(path) or (path == "webapi_url" and "webapi_url" in problem):
                errors.setdefault(name, hint)
                break
        else:
            errors.setdefault("_form", "有一项设置无效，请检查后再保存。")
    return errors


def current_values(tenant: Tenant) -> dict[str, Any]:
    """What the form shows for a tenant (never a secret: write-only fields say whether they are set)."""
    policy, people, logging = tenant.policy, tenant.people, tenant.logging
    return {
        "slug": tenant.slug, "name": tenant.name, "login_column": people["login_column"],
        "name_column": people["name_column"], "position_column": people["position_column"],
        "wechat_column": people["wechat_column"],
        "allow_mobile_registration": bool(policy["allow_mobile_registration"]),
        "max_login_failures": policy["max_login_failures"], "lockout_minutes": policy["lockout_minutes"],
        "first_login_change_password": bool(policy["first_login_change_password"]),
        "password_classes": list(policy["password_classes"] or []),
        "password_min_length": policy["password_min_length"], "webapi_url": tenant.webapi_url or "",
        "app_id": tenant.app_id, "original_id": tenant.original_id or "", "message_mode": tenant.message_mode,
        "log_mobile": bool(tenant.logging["mobile"]), "log_system": bool(logging["system"]),
        "has_app_secret": bool(tenant.secrets.app_secret), "has_token": bool(tenant.secrets.token),
        "has_encoding_aes_key": bool(tenant.secrets.encoding_aes_key),
        "retention_days": tenant.phone["retention_days"], "time_zone": tenant.phone["time_zone"],
    }


def form_values(form: Mapping[str, str], checked: Callable[[str], list[str]]) -> dict[str, Any]:
    """What the form shows again after an error: what was typed (write-only fields blank)."""
    values: dict[str, Any] = {k: v for k, v in form.items() if k not in WRITE_ONLY}
    for name in ("allow_mobile_registration", "first_login_change_password", "log_mobile", "log_system"):
        values[name] = form.get(name) == "on"
    values["password_classes"] = checked("password_classes")
    return values
