"""The rows of a people sheet checked against a column mapping and an initial-password choice,
before anything is written: every bad row with its reasons ("中文 / English"), and the rows to
write. Pure (no storage): which logins exist already is handed in."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping

from gateway.accounts.import_mapping import Mapping_
from gateway.accounts.importer import KIND_ALIASES
from gateway.accounts.password_policy import WeakPassword, check_password
from gateway.accounts.rules import MAX_LOGIN_CHARS, MAX_TEXT_CHARS, login_problem, normalise_login, password_policy
from gateway.accounts.wechat_ids import wechat_id_problem
from gateway.platform.tenant import Tenant

# How new accounts get their first password.
PASSWORD_MODES = ("column", "generate", "same", "none")


@dataclass
class SheetRow:
    row: int                 # as in the spreadsheet, the header being row 1
    login: str
    key: str
    name: str
    position: str | None     # None: the sheet has no position column (left as it is)
    kind: str | None
    wechat: str | None       # None: no WeChat column; "" clears a stored one
    password: str | None     # the initial password of a new account (column or "same" mode)
    is_new: bool = False     # no account of this login when checked


@dataclass
class SheetPlan:
    rows: list[SheetRow] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    existing: int = 0
    passwords_kept: int = 0  # existing accounts whose password cell is ignored


def _login_problem(login: str) -> str | None:
    problem = login_problem(login)
    if problem is None:
        return None
    if not login.strip():
        return "账号为空 / login is empty"
    if len(login.strip()) > MAX_LOGIN_CHARS:
        return f"账号超过 {MAX_LOGIN_CHARS} 个字符 / login longer than {MAX_LOGIN_CHARS} characters"
    return "账号不能含控制字符或 / \\ ? # / login has control characters or / \\ ? #"


def _text_problem(label: str, en: str, value: str, required: bool) -> str | None:
    if not value:
        return f"{label}为空 / {en} is empty" if required else None
    if len(value) > MAX_TEXT_CHARS:
        return f"{label}超过 {MAX_TEXT_CHARS} 个字符 / {en} longer than {MAX_TEXT_CHARS} characters"
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return f"{label}含有控制字符 / {en} has control characters"
    return None


def _password_problem(tenant: Tenant, password: str, login: str, name: str) -> str | None:
    if not password:
        return "新账号的初始密码为空 / a new account's initial password is empty"
    try:
        check_password(password_policy(tenant), password, (login, name, tenant.name, tenant.slug))
    except WeakPassword as weak:
        return f"初始密码不符合密码规则：{weak.message}"
    return None


def sheet_logins(table: list[list[str]], mapping: Mapping_) -> list[str]:
    """The normalised logins the sheet names (to look up which exist)."""
    index = mapping.get("login")
    if index is None:
        return []
    return sorted({normalise_login(values[index]) for values in table[1:]
                   if index < len(values) and values[index].strip() and login_problem(values[index]) is None})


def check_sheet(tenant: Tenant, table: list[list[str]], mapping: Mapping_, mode: str, same_password: str,
                existing: Mapping[str, str]) -> SheetPlan:
    """`existing`: login key -> status of the accounts of the tenant the sheet names."""
    plan = SheetPlan()

    def cell(values: list[str], what: str) -> str | None:
        index = mapping.get(what)
        if index is None:
            return None
        return values[index].strip() if index < len(values) else ""

    seen: dict[str, int] = {}
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        login, name = cell(values, "login") or "", cell(values, "name") or ""
        position, wechat = cell(values, "position"), cell(values, "wechat")
        raw_kind, password = cell(values, "kind") or "", cell(values, "password")
        kind = KIND_ALIASES.get(raw_kind.lower()) if raw_kind else None
        problems = [p for p in (_login_problem(login), _text_problem("姓名", "name", name, True),
                                _text_problem("职位", "position", position or "", False),
                                wechat_id_problem(wechat or "")) if p]
        if raw_kind and kind is None:
            problems.append("类型只能是 员工、客户 或 供应商 / kind must be employee, customer or supplier")
        key = normalise_login(login) if login.strip() else ""
        status = existing.get(key)
        if key and key in seen:
            problems.append(f"账号与第 {seen[key]} 行重复 / login repeats row {seen[key]}")
        elif key:
            seen[key] = number
        if status == "pending":
            problems.append("这是待审核的自助注册，请先在“待审核注册”中批准或拒绝"
                            " / a pending self-registration: approve or refuse it first")
        initial = None
        if status is None and not problems:
            if mode == "column":
                initial = password or ""
            elif mode == "same":
                initial = same_password
            if initial is not None:
                weak = _password_problem(tenant, initial, login.strip(), name)
                if weak:
                    problems.append(weak)
        if problems:
            plan.bad.append({"row": number, "login": login.strip(), "problems": problems})
            continue
        if status is None:
            plan.new += 1
        else:
            plan.existing += 1
            plan.passwords_kept += 1 if mode == "column" and password else 0
        plan.rows.append(SheetRow(number, login.strip(), key, name, position, kind, wechat, initial, status is None))
    if not plan.rows and not plan.bad:
        plan.bad.append({"row": 2, "login": "", "problems": ["表格中没有数据行 / the sheet has no rows"]})
    return plan
