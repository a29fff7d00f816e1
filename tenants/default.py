"""The default WeChat message handlers of every tenant, as a rule table (DESIGN.md, WeChat-facing).
A tenant's own tenants/<slug>.py adds rules or replaces these by name (see tenants/router.py)."""
from __future__ import annotations

import asyncio

from gateway.storage import StorageError
from tenants import MessageContext, Reply, Rule

# The 待办 count waits on storage at most this long outside a callback's own deadline.
COUNT_SECONDS = 1.5


def _keyword_reply(ctx: MessageContext) -> str | None:
    """The first of the tenant's keyword replies (PUT .../replies) matching the text, in their order."""
    text = ctx.content.strip().casefold()
    if not text:
        return None
    for rule in ctx.tenant.replies:
        keyword = str(rule.get("keyword", "")).strip().casefold()
        if not keyword:
            continue
        if (rule.get("match") == "exact" and text == keyword) or (rule.get("match") == "contains"
                                                                   and keyword in text):
            return str(rule.get("reply", ""))
    return None


async def _bind_reply(ctx: MessageContext) -> str | None:
    """The reply to a scan of a bind QR code (None for another scene), within the callback's bound."""
    try:
        return await asyncio.wait_for(ctx.bind_scans.scanned(ctx.tenant, ctx.openid, ctx.scene),
                                      ctx.lookup_seconds(COUNT_SECONDS))
    except (asyncio.TimeoutError, StorageError):
        return "暂时无法处理这次扫码，请稍后再扫一次二维码。"


async def welcome(ctx: MessageContext) -> Reply:
    await ctx.followers.record(ctx.tenant, ctx.openid, True)
    if ctx.scene:  # followed by scanning a parametric QR code, e.g. a bind code
        reply = await _bind_reply(ctx)
        if reply is not None:
            return ctx.text(reply)
    return ctx.text(f"欢迎关注{ctx.tenant.name}！\n请先绑定您的账号，之后待办会在这里通知您：\n{ctx.links.binding}")


async def qr_scan(ctx: MessageContext) -> Reply | None:
    reply = await _bind_reply(ctx)
    return ctx.text(reply) if reply is not None else None


async def farewell(ctx: MessageContext) -> None:
    await ctx.followers.record(ctx.tenant, ctx.openid, False)
    return None


async def pending(ctx: MessageContext) -> Reply:
    try:
        count = await asyncio.wait_for(ctx.inbox.pending_count(ctx.tenant, ctx.openid),
                                       ctx.lookup_seconds(COUNT_SECONDS))
    except (asyncio.TimeoutError, StorageError):
        return ctx.text(f"暂时无法查询待办，请稍后再试。也可以直接打开：\n{ctx.links.inbox}")
    if count is None:
        return ctx.text(f"您还没有绑定账号。请点击链接绑定后查看待办：\n{ctx.links.binding}")
    if count == 0:
        return ctx.text(f"您目前没有待办。\n{ctx.links.inbox}")
    return ctx.text(f"您有 {count} 条待办，点击查看：\n{ctx.links.inbox}")


async def unbind_hint(ctx: MessageContext) -> Reply:
    return ctx.text(f"如需解除绑定，请打开菜单中的「解除绑定」页面，或点击链接后在页面中操作：\n{ctx.links.inbox}")


async def keyword_reply(ctx: MessageContext) -> Reply | None:
    reply = _keyword_reply(ctx)
    return ctx.text(reply) if reply else None


async def template_finished(ctx: MessageContext) -> None:
    msgid = ctx.message.get("MsgID") or ctx.message.get("MsgId") or ""
    if msgid:
        await ctx.deliveries(ctx.tenant, msgid, ctx.message.get("Status", ""))
    return None


# First match wins; a message no rule matches is answered `success`.
RULES: list[Rule] = [
    #    name                 handler             message type        event / event key / keywords
    Rule("subscribe",         welcome,            msg_type="event",   event="subscribe"),
    Rule("unsubscribe",       farewell,           msg_type="event",   event="unsubscribe"),
    Rule("qr_scan",           qr_scan,            msg_type="event",   event="SCAN"),
    Rule("inbox_text",        pending,            msg_type="text",    keywords=("待办", "todo")),
    Rule("inbox_click",       pending,            msg_type="event",   event="CLICK", event_key="INBOX"),
    Rule("unbind_click",      unbind_hint,        msg_type="event",   event="CLICK", event_key="UNBIND"),
    Rule("template_finished", template_finished,  msg_type="event",   event="TEMPLATESENDJOBFINISH"),
    Rule("keyword_replies",   keyword_reply,      msg_type="text",
         when=lambda ctx: _keyword_reply(ctx) is not None),
]
