"""Sample per-tenant rules, for the tenant whose slug is `demo` only: tenants/<slug>.py (a '-' in the
slug becomes '_') holds a RULES list; a rule named like a default rule replaces it, others come first."""
from __future__ import annotations

from tenants import MessageContext, Reply, Rule


async def pong(ctx: MessageContext) -> Reply:
    return ctx.text("pong（demo 租户的自定义规则）")


async def about(ctx: MessageContext) -> Reply:
    return ctx.text(f"这是演示账号 {ctx.tenant.name}。发送「待办」查看待办，或打开：\n{ctx.links.inbox}")


async def unbind_page(ctx: MessageContext) -> Reply:
    # Replaces the default `unbind_click` rule: the demo tenant links straight to the password page.
    return ctx.text(f"解除绑定或修改密码请打开：\n{ctx.links.entry('password')}")


RULES: list[Rule] = [
    Rule("demo_ping",    pong,        msg_type="text",  keywords=("ping",)),
    Rule("demo_about",   about,       msg_type="event", event="CLICK", event_key="ABOUT"),
    Rule("unbind_click", unbind_page, msg_type="event", event="CLICK", event_key="UNBIND"),
]
