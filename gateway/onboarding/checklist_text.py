"""The onboarding checklist in plain words, as the seed's eight steps: each step's state (done,
missing, unknown yet) from the live checks of checklist.py, what to do in WeChat's back end in
one or two sentences, and which console page fixes it. No HTTP verbs, JSON or field names."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DONE, MISSING, UNKNOWN = "done", "missing", "unknown"


@dataclass(frozen=True)
class PlainStep:
    number: int
    title: str
    state: str
    todo: str           # what to do while the step is not done; {ip}, {domain}, {callback} filled by `text`
    page: str | None    # the console page (under /console/t/{slug}/) that fixes it
    page_label: str

    def text(self, translated: str, values: dict[str, str]) -> str:
        """The todo text (translated by the page) with its addresses filled in."""
        return translated.format(**values)


def _state(ok: bool | None) -> str:
    return DONE if ok else (UNKNOWN if ok is None else MISSING)


def todo_values(urls: dict[str, str], blocked_ip: str | None) -> dict[str, str]:
    return {"ip": blocked_ip or "", "domain": urls["oauth_domain"], "callback": urls["callback"]}


def plain_steps(checks: dict[str, Any]) -> list[PlainStep]:
    """The seed's eight steps from the JSON checklist's steps (`{"steps": [{"id", "ok", ...}]}`)."""
    ok = {step["id"]: step["ok"] for step in checks["steps"]}
    credentials = ok.get("credentials")
    # Registration and certification cannot be read from outside: a working token proves the
    # account exists; a pushed menu or a sent template message proves it is certified.
    certified = True if (ok.get("menu") or ok.get("templates")) else (None if credentials is not False else False)
    both = ok.get("callback") and credentials
    return [
        PlainStep(1, "注册微信服务号", _state(True if credentials else None),
                  "在微信公众平台 (mp.weixin.qq.com) 用管理员的微信扫码注册，账号类型选择“服务号”。",
                  None, ""),
        PlainStep(2, "认证微信服务号（需向腾讯缴费）", _state(certified),
                  "在公众平台的“设置 → 微信认证”中提交企业资料并缴费，通常一天内完成。认证后才能使用模板消息和自定义菜单。",
                  None, ""),
        PlainStep(3, "启用开发者，获得 AppID 和 AppSecret", _state(credentials),
                  "在“设置与开发 → 基本配置”中启用开发者密码，把 AppID 和 AppSecret 抄下来，填到本系统的设置页。AppSecret 只显示一次，忘记了只能重置。", "settings", "去填写 AppID / Secret"),
        PlainStep(4, "设置 IP 白名单", _state(ok.get("ip_whitelist")),
                  "微信拒绝了来自 {ip} 的请求：请在“基本配置 → IP 白名单”中加入 {ip}，大约 5 分钟后生效。" if ok.get("ip_whitelist") is False else
                  "在“基本配置 → IP 白名单”中加入本系统的出口 IP（向平台运营方索取）。", None, ""),
        PlainStep(5, "设置 JS 接口安全域名、网页授权域名", _state(ok.get("oauth_domain")),
                  "在“设置与开发 → 公众号设置 → 功能设置”中把网页授权域名和 JS 接口安全域名都填为 {domain}，下载页面提示的校验文件，上传到本系统后再回到微信点“确定”。", "verify", "去上传校验文件"),
        PlainStep(6, "开启消息模板", _state(ok.get("templates")),
                  "模板已设置。第一条单据提醒成功发出后，这一步会显示为已完成。" if ok.get("templates") is None else
                  "在“广告与服务 → 模板消息”中开通，行业选 IT科技 / IT软件与服务 和 其他 / 其他；选好审批和抄送两个模板后，把模板 ID 填到本系统的模板页。", "templates", "去设置模板"),
        PlainStep(7, "设置服务号菜单", _state(ok.get("menu")),
                  "启用服务器配置后，微信后台的菜单编辑器不再生效，请在本系统的菜单页编辑并发布菜单。",
                  "menu", "去编辑菜单"),
        PlainStep(8, "将 AppID、AppSecret 等填入本系统并启用服务器配置", _state(both),
                  "在“基本配置 → 服务器配置”中填写服务器地址 {callback}，令牌 (Token) 和消息加解密密钥与本系统设置页一致，然后点“启用”。微信会立即发来一次校验。", "settings", "去核对设置"),
    ]
