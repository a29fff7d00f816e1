"""Per-tenant WeChat behaviour: the types of the rule table (message type, event, event key,
keyword, predicate -> handler), the MessageContext a handler receives and the Reply it gives.
`default.py` is every tenant's table; `<slug>.py` extends one tenant's (see README). May use
the platform (tenant model, clock, links) and the WeChat XML builders, nothing else."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Iterable, Mapping, Protocol

from gateway.platform.clock import Clock
from gateway.platform.links import entry_url
from gateway.platform.tenant import Tenant
from gateway.wechat.xmlmsg import build_news_reply, build_text_reply

__all__ = ["BindScans", "DeliveryHook", "FollowerRecorder", "InboxProvider", "Links", "MessageContext", "NoBindScans",
           "Reply", "Rule", "compose", "route"]


class InboxProvider(Protocol):
    async def pending_count(self, tenant: Tenant, openid: str) -> int | None:
        """Documents waiting for the account bound to `openid`; None when the openid is not bound."""


class FollowerRecorder(Protocol):
    async def record(self, tenant: Tenant, openid: str, subscribed: bool) -> None: ...


class BindScans(Protocol):
    async def scanned(self, tenant: Tenant, openid: str, scene: str) -> str | None:
        """The reply to a scan of a parametric QR code with this scene; None when it is no bind code."""


class NoBindScans:
    """Until scan-to-bind is wired no scene is a bind code."""

    async def scanned(self, tenant: Tenant, openid: str, scene: str) -> str | None:
        return None


# (tenant, msgid as WeChat wrote it in MsgID, raw Status such as "success" or "failed:user block")
DeliveryHook = Callable[[Tenant, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Links:
    """Entry URLs of one tenant: every link a reply carries goes through the entry point (OAuth first)."""
    public_url: str
    slug: str

    def entry(self, next_path: str = "inbox") -> str:
        return entry_url(self.public_url, self.slug, next_path)

    @property
    def inbox(self) -> str:
        return self.entry("inbox")

    @property
    def binding(self) -> str:
        # Binding happens on the way: the entry point signs the user in and asks for a login if unbound.
        return self.entry("inbox")


@dataclass(frozen=True)
class Reply:
    """A passive reply: text, or news with one article (WeChat shows at most one)."""
    kind: str
    content: str = ""
    title: str = ""
    description: str = ""
    url: str = ""
    pic_url: str = ""

    @classmethod
    def text(cls, content: str) -> "Reply":
        return cls("text", content=content)

    @classmethod
    def news(cls, title: str, description: str, url: str, pic_url: str = "") -> "Reply":
        return cls("news", title=title, description=description, url=url, pic_url=pic_url)

    def to_xml(self, to_user: str, from_user: str, create_time: int) -> bytes:
        if self.kind == "news":
            return build_news_reply(to_user, from_user, self.title, self.description, self.url, self.pic_url,
                                    create_time)
        return build_text_reply(to_user, from_user, self.content, create_time)


@dataclass
class MessageContext:
    """Everything a handler may use, passed explicitly: the tenant, the message and the services."""
    tenant: Tenant
    message: Mapping[str, str]
    links: Links
    inbox: InboxProvider
    deliveries: DeliveryHook
    followers: FollowerRecorder
    clock: Clock
    # Loop time by which lookups in storage (the 待办 count) must have answered, so that WeChat
    # gets a reply within 2 s whatever the database does; None: no such bound.
    lookup_deadline: float | None = None
    bind_scans: BindScans = field(default_factory=NoBindScans)

    def lookup_seconds(self, default: float) -> float:
        if self.lookup_deadline is None:
            return default
        return max(0.05, self.lookup_deadline - asyncio.get_running_loop().time())

    @property
    def openid(self) -> str:
        return self.message.get("FromUserName", "")

    @property
    def msg_type(self) -> str:
        return self.message.get("MsgType", "")

    @property
    def event(self) -> str:
        return self.message.get("Event", "")

    @property
    def event_key(self) -> str:
        return self.message.get("EventKey", "")

    @property
    def scene(self) -> str:
        """The scene of a parametric QR code scan: SCAN carries it bare, subscribe as qrscene_<scene>."""
        key = self.event_key
        if self.event.lower() == "subscribe":
            return key[len("qrscene_"):] if key.startswith("qrscene_") else ""
        return key if self.event == "SCAN" else ""

    @property
    def content(self) -> str:
        return self.message.get("Content", "")

    def text(self, content: str) -> Reply:
        return Reply.text(content)


Handler = Callable[[MessageContext], Awaitable[Reply | None]]
Predicate = Callable[[MessageContext], bool]


def _fold(text: str) -> str:
    return text.strip().casefold()


@dataclass(frozen=True)
class Rule:
    """One row of the table: every given condition must hold; the first matching rule handles the message.

    `event` is compared case-insensitively (WeChat writes `subscribe` but `CLICK`), `event_key` exactly,
    `keywords` against the trimmed, case-folded text content, `when` is any further predicate.
    """
    name: str
    handler: Handler
    msg_type: str | None = None
    event: str | None = None
    event_key: str | None = None
    keywords: tuple[str, ...] = ()
    when: Predicate | None = field(default=None, compare=False)

    def matches(self, ctx: MessageContext) -> bool:
        if self.msg_type is not None and ctx.msg_type != self.msg_type:
            return False
        if self.event is not None and ctx.event.lower() != self.event.lower():
            return False
        if self.event_key is not None and ctx.event_key != self.event_key:
            return False
        if self.keywords and _fold(ctx.content) not in {_fold(k) for k in self.keywords}:
            return False
        return self.when is None or self.when(ctx)


def route(rules: Iterable[Rule], ctx: MessageContext) -> Rule | None:
    return next((rule for rule in rules if rule.matches(ctx)), None)


def compose(default: Iterable[Rule], extra: Iterable[Rule]) -> list[Rule]:
    """A tenant's table: an extra rule named like a default one replaces it in place; the others go
    first, so they win over the defaults for the messages they match."""
    extra = list(extra)
    by_name = {rule.name: rule for rule in extra}
    base = [by_name.get(rule.name, rule) for rule in default]
    replaced = {rule.name for rule in default}
    return [rule for rule in extra if rule.name not in replaced] + base
