"""The menu editor's form: 3 buttons of up to 5 sub-buttons, each a name and a target (a page of
the tenant, a built-in click, or a web address), turned into WeChat's menu JSON and back, and
WeChat's limits named in plain Chinese next to the button that breaks them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

TOP, SUBS = 3, 5
TOP_NAME_BYTES, SUB_NAME_BYTES = 16, 60
# Targets offered in the editor: the tenant's own pages (expanded to its entry URL) and the
# built-in clicks that tenants/default.py answers.
TARGETS: tuple[tuple[str, str], ...] = (
    ("page:inbox", "待办列表"), ("page:password", "修改密码"), ("page:register", "自助注册"),
    ("click:INBOX", "回复待办数"), ("click:UNBIND", "解除绑定"), ("url", "网址…"),
)
_PATH = re.compile(r"^button\[(\d+)\](?:\.sub_button\[(\d+)\])?$")


@dataclass
class Slot:
    name: str = ""
    target: str = "page:inbox"
    url: str = ""


@dataclass
class Button(Slot):
    subs: list[Slot] = field(default_factory=lambda: [Slot() for _ in range(SUBS)])


def _slot_from(node: dict[str, Any], entry_prefix: str) -> Slot:
    slot = Slot(name=str(node.get("name", "")))
    if node.get("type") == "click":
        slot.target = f"click:{node.get('key', '')}"
    elif node.get("type") == "view":
        url = str(node.get("url", ""))
        page = url[len(entry_prefix):] if url.startswith(entry_prefix) else None
        if url.startswith("entry:"):
            page = url[len("entry:"):]
        if page in ("inbox", "password", "register"):
            slot.target = f"page:{page}"
        else:
            slot.target, slot.url = "url", url
    return slot


def rows_of(menu: dict[str, Any] | None, entry_prefix: str) -> list[Button]:
    """The editor's rows for a menu (as pushed, with expanded entry URLs, or with entry: URLs)."""
    buttons = [Button() for _ in range(TOP)]
    for i, node in enumerate((menu or {}).get("button", [])[:TOP]):
        top = _slot_from(node, entry_prefix)
        buttons[i].name, buttons[i].target, buttons[i].url = top.name, top.target, top.url
        for j, sub in enumerate((node.get("sub_button") or [])[:SUBS]):
            buttons[i].subs[j] = _slot_from(sub, entry_prefix)
    return buttons


def _leaf(name: str, target: str, url: str) -> dict[str, Any]:
    if target.startswith("page:"):
        return {"type": "view", "name": name, "url": "entry:" + target[5:]}
    if target.startswith("click:"):
        return {"type": "click", "name": name, "key": target[6:]}
    return {"type": "view", "name": name, "url": url.strip()}


def menu_from_form(form: Mapping[str, str]) -> tuple[dict[str, Any], list[Button]]:
    """WeChat's menu JSON (entry: URLs for the tenant's pages) and the rows as typed."""
    rows: list[Button] = []
    menu: list[dict[str, Any]] = []
    for i in range(TOP):
        button = Button(form.get(f"b{i}_name", "").strip(), form.get(f"b{i}_target", "page:inbox"),
                        form.get(f"b{i}_url", ""))
        subs = []
        for j in range(SUBS):
            slot = Slot(form.get(f"b{i}_s{j}_name", "").strip(), form.get(f"b{i}_s{j}_target", "page:inbox"),
                        form.get(f"b{i}_s{j}_url", ""))
            button.subs[j] = slot
            if slot.name:
                subs.append(_leaf(slot.name, slot.target, slot.url))
        rows.append(button)
        if subs:
            menu.append({"name": button.name, "sub_button": subs})
        elif button.name:
            menu.append(_leaf(button.name, button.target, button.url))
    return {"button": menu}, rows


def plain_reason(reason: str, is_sub: bool) -> str:
    if "longer than" in reason and "name" in reason:
        return ("子菜单名称太长：最多 60 字节（约 20 个汉字）。" if is_sub
                else "菜单名称太长：一级菜单最多 4 个汉字或 8 个字母。")
    if "name is missing" in reason:
        return "请填写菜单名称。"
    if "url must start" in reason or "needs a non-empty url" in reason:
        return "网址需以 http:// 或 https:// 开头。"
    if "url is longer" in reason:
        return "网址太长：最多 1024 字节。"
    if "1 to 3 buttons" in reason:
        return "请至少填写一个菜单。"
    return "这个菜单项不符合微信的要求。"


def row_index_map(form_rows: list[Button]) -> Callable[[str], str]:
    """MenuInvalid paths count only filled buttons; map them back to the form's row numbers."""
    filled = [i for i, b in enumerate(form_rows) if b.name or any(s.name for s in b.subs)]

    def to_field(path: str) -> str:
        match = _PATH.match(path)
        if match is None or int(match.group(1)) >= len(filled):
            return "_form"
        i = filled[int(match.group(1))]
        if match.group(2) is None:
            return f"b{i}_name"
        subs = [j for j, s in enumerate(form_rows[i].subs) if s.name]
        k = int(match.group(2))
        return f"b{i}_s{subs[k]}_name" if k < len(subs) else f"b{i}_name"
    return to_field
