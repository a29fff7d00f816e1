"""The phone side's error pages, one table: each kind of failure with its status, what happened
and what to do next, in Chinese first with an English switch (templates/error.html)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tornado.web


@dataclass(frozen=True)
class ErrorText:
    heading: str
    text: str
    heading_en: str
    text_en: str
    link_text: str = ""
    link_text_en: str = ""


PAGES: dict[str, ErrorText] = {
    "unknown_tenant": ErrorText(
        "页面不存在", "找不到这个单位的服务号页面：链接可能抄错了，或这个单位已停用本服务。请回到服务号，从底部菜单重新进入；仍不行请联系单位管理员。",
        "This page does not exist", "The link may be mistyped, or this organisation no longer uses the service. "
        "Go back to the official account and open it from its menu; if that fails, ask your administrator."),
    "snapshot": ErrorText(
        "请从公众号菜单进入", "当前是微信的预览（快照）页，无法登录。请点页面底部的“使用完整服务”，或关注公众号后从菜单打开这个链接。",
        "Open it from the account's menu", "This is WeChat's preview (snapshot) page, where signing in is not "
        "possible. Tap “use full service” at the bottom, or follow the account and open the link from its menu."),
    "bad_state": ErrorText(
        "登录链接已失效", "登录请求已过期、已使用或不完整。请点下面的按钮重新进入，微信会再确认一次您的身份。",
        "The sign-in link has expired", "The sign-in request has expired, was already used or is incomplete. "
        "Tap the button below to start again.", "重新进入", "Start again"),
    "sign_in_failed": ErrorText(
        "微信登录没有完成", "微信暂时没有确认您的身份。请点下面的按钮重新进入。",
        "Signing in did not finish", "WeChat did not confirm who you are this time. Tap the button below to "
        "start again.", "重新进入", "Start again"),
    "not_found": ErrorText(
        "页面不存在", "您访问的页面不存在，请确认链接是否正确，或回到待办列表。",
        "Page not found", "This page does not exist. Check the link or go back to your inbox.",
        "返回待办", "Back to the inbox"),
    "document": ErrorText(
        "单据不存在或您无权查看", "这张单据可能已撤回，或您不是它的审批人或抄送人。如已退出登录，请重新进入。",
        "Document not available", "The document may have been withdrawn, or you are not one of its approvers or "
        "copied readers. If you were signed out, start again.", "返回待办", "Back to the inbox"),
    "file_too_large": ErrorText(
        "附件太大，无法在手机上打开", "这个附件超过 20 MB。请在电脑上登录业务系统查看，或请发起人压缩后重新上传。",
        "The attachment is too large", "This file is larger than 20 MB. Open it in the business system on a "
        "computer, or ask the applicant for a smaller file.", "返回单据", "Back to the document"),
    "file_unavailable": ErrorText(
        "附件暂时无法打开", "业务系统没有正常返回这个附件。请稍后再试；如果一直打不开，请联系单位管理员。",
        "The attachment cannot be opened now", "The business system did not hand over this file. Try again "
        "later; if it keeps failing, ask your administrator.", "返回单据", "Back to the document"),
    "file_timeout": ErrorText(
        "附件加载超时", "业务系统长时间没有响应。请稍后再试。",
        "The attachment timed out", "The business system did not answer in time. Try again later.",
        "返回单据", "Back to the document"),
    "bad_request": ErrorText(
        "请求无效", "链接不完整或已失效，请从公众号菜单重新进入。",
        "Invalid request", "The link is incomplete or has expired; open it again from the account's menu.",
        "重新进入", "Start again"),
    "forbidden": ErrorText(
        "无权访问", "您没有权限查看此页面。请从公众号菜单重新进入；如有疑问请联系单位管理员。",
        "Access denied", "You may not see this page. Open it again from the account's menu, or ask your "
        "administrator.", "重新进入", "Start again"),
    "unavailable": ErrorText(
        "服务暂时不可用", "系统繁忙或正在维护，请稍后再试。",
        "Service unavailable", "The system is busy or under maintenance; try again in a moment.",
        "重试", "Try again"),
    "server_error": ErrorText(
        "出错了", "系统处理时出现问题，我们已记录下来。请稍后重试；如果反复出现，请联系单位管理员。",
        "Something went wrong", "The system ran into a problem, which has been logged. Try again in a moment; "
        "if it keeps happening, ask your administrator.", "重试", "Try again"),
}

BY_STATUS = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "bad_request", 413: "file_too_large",
             429: "unavailable", 502: "file_unavailable", 503: "unavailable", 504: "file_timeout"}

_BILINGUAL = re.compile(r"^(?P<zh>.*?[。！？])\s*(?P<en>[A-Za-z].*)$", re.S)


def split_bilingual(message: str) -> tuple[str, str]:
    """A "中文。English." message as its two halves (the whole in both when it is not such a pair)."""
    match = _BILINGUAL.match(message.strip())
    return (match["zh"], match["en"]) if match else (message, message)


def render_error(handler: tornado.web.RequestHandler, status: int, kind: str | None = None, link: str | None = None,
                 text: str | None = None, text_en: str | None = None) -> None:
    """Answer `status` with the styled page of `kind` (by default the status's own); `link` is the
    next step's target, `text`/`text_en` replace the table's explanation."""
    page = PAGES[kind or BY_STATUS.get(status, "server_error" if status >= 500 else "bad_request")]
    values: dict[str, Any] = {"heading": page.heading, "text": text or page.text, "heading_en": page.heading_en,
                              "text_en": text_en or page.text_en, "link": link if page.link_text else None,
                              "link_text": page.link_text, "link_text_en": page.link_text_en, "status": status}
    handler.set_status(status)
    handler.clear_header("Location")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    handler.render("error.html", **values)
