"""Which column of a people sheet is the login, the name, the position, the WeChat id, the kind
and the password: guessed from the header row (the tenant's own `people` column names, then
common Chinese and English headers), or the mapping the tenant chose last time when its headers
are in the file again."""
from __future__ import annotations

from typing import Mapping

FIELDS = ("login", "name", "position", "wechat", "kind", "password")
REQUIRED = ("login", "name")
# The tenant's `people` setting naming each field's column.
PEOPLE_KEYS = {"login": "login_column", "name": "name_column", "position": "position_column",
               "wechat": "wechat_column"}
KNOWN_HEADERS: dict[str, tuple[str, ...]] = {
    "login": ("工号", "账号", "帐号", "登录名", "登录账号", "用户名", "员工编号", "login", "username", "user name",
              "account", "user id", "employee id", "id"),
    "name": ("姓名", "名字", "名称", "员工姓名", "name", "full name", "display name"),
    "position": ("职位", "岗位", "职务", "部门职位", "position", "title", "job title", "role"),
    "wechat": ("微信号", "微信", "微信账号", "wechat", "wechat id", "weixin", "wx"),
    "kind": ("类型", "人员类型", "kind", "type"),
    "password": ("密码", "初始密码", "password", "initial password"),
}

Mapping_ = dict[str, int | None]


def _norm(header: str) -> str:
    return " ".join(header.replace("_", " ").split()).lower()


def guess_mapping(header: list[str], people: Mapping[str, str],
                  remembered: Mapping[str, str] | None = None) -> Mapping_:
    """Column index per field (None when the sheet has no such column). A column serves one field."""
    where: dict[str, int] = {}
    for index, text in enumerate(header):
        where.setdefault(_norm(text), index)
    mapping: Mapping_ = {field: None for field in FIELDS}
    taken: set[int] = set()
    for field in FIELDS:
        candidates: list[str] = []
        if remembered and remembered.get(field):
            candidates.append(remembered[field])
        if field in PEOPLE_KEYS and people.get(PEOPLE_KEYS[field]):
            candidates.append(people[PEOPLE_KEYS[field]])
        candidates += KNOWN_HEADERS[field]
        for candidate in candidates:
            column = where.get(_norm(candidate))
            if column is not None and column not in taken:
                mapping[field] = column
                taken.add(column)
                break
    return mapping


def mapping_from_form(values: Mapping[str, str], width: int) -> Mapping_:
    """The mapping a person chose (field -> column number as text, "" for none); out-of-range
    or non-numeric values count as none."""
    mapping: Mapping_ = {}
    for field in FIELDS:
        raw = (values.get(field) or "").strip()
        mapping[field] = int(raw) if raw.isdigit() and int(raw) < width else None
    return mapping


def mapping_problems(mapping: Mapping_) -> list[str]:
    """Bilingual ("中文 / English") problems of a mapping: required fields, a column used twice."""
    labels = {"login": "账号 / login", "name": "姓名 / name"}
    problems = [f"请指定{labels[f].split(' / ')[0]}列 / choose the {labels[f].split(' / ')[1]} column"
                for f in REQUIRED if mapping.get(f) is None]
    used = [i for i in mapping.values() if i is not None]
    if len(used) != len(set(used)):
        problems.append("同一列不能同时作为两项 / one column cannot serve two fields")
    return problems


def remembered_form(header: list[str], mapping: Mapping_) -> dict[str, str]:
    """What is remembered for the tenant: the header text of each mapped column."""
    return {field: header[index] for field, index in mapping.items() if index is not None and index < len(header)}
