"""The rule table: matching, first-match routing, per-tenant composition and loading of
tenants/<slug>.py, the default handlers on a fake context and over HTTP, and the dedupe key."""
from __future__ import annotations

import sys
from typing import Any

from gateway.callbacks.pipeline import dedupe_key
from gateway.callbacks.rulebook import RuleBook
from gateway.platform.clock import Clock
from gateway.wechat.xmlmsg import parse_xml
from tenants import default
from gateway.platform.tenant import Tenant, TenantSecrets
from tenants import Links, MessageContext, Reply, Rule, compose, route
from harness import wait_for
from wechat_push import OPENID, SpyInbox, WeChat

PUBLIC = "https://gw.example.com"
HTTP_PUBLIC = "http://127.0.0.1:8080"


def tenant(slug: str = "acme", replies: list[dict[str, str]] | None = None) -> Tenant:
    return Tenant(id=7, slug=slug, name=f"{slug} 公司", config={"wechat": {"app_id": "wx0123456789abcdef"}},
                  secrets=TenantSecrets(app_secret="s", token="tok"), created_at=0.0, updated_at=0.0,
                  replies=replies or [])


class FakeInbox:
    def __init__(self, count: int | None) -> None:
        self.count = count

    async def pending_count(self, tenant: Tenant, openid: str) -> int | None:
        return self.count


class FakeFollowers:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, bool]] = []

    async def record(self, tenant: Tenant, openid: str, subscribed: bool) -> None:
        self.recorded.append((tenant.slug, openid, subscribed))


def ctx(message: dict[str, str], t: Tenant | None = None, inbox: Any = None, hook: Any = None,
        followers: FakeFollowers | None = None) -> MessageContext:
    t = t or tenant()

    async def no_hook(tenant: Tenant, msgid: str, status: str) -> None:
        return None

    return MessageContext(tenant=t, message={"FromUserName": "oU1", "ToUserName": "gh_x", **message},
                          links=Links(PUBLIC, t.slug), inbox=inbox or FakeInbox(None), deliveries=hook or no_hook,
                          followers=followers or FakeFollowers(), clock=Clock())


async def handled(c: MessageContext, rules: list[Rule] | None = None) -> tuple[str | None, Reply | None]:
    rule = route(rules if rules is not None else default.RULES, c)
    if rule is None:
        return None, None
    return rule.name, await rule.handler(c)


async def nothing(c: MessageContext) -> None:
    return None


# ---- matching and composition ----------------------------------------------------------------

def test_rule_conditions():
    click = Rule("x", nothing, msg_type="event", event="click", event_key="INBOX")
    assert click.matches(ctx({"MsgType": "event", "Event": "CLICK", "EventKey": "INBOX"}))
    assert not click.matches(ctx({"MsgType": "event", "Event": "CLICK", "EventKey": "inbox"}))
    assert not click.matches(ctx({"MsgType": "event", "Event": "VIEW", "EventKey": "INBOX"}))
    assert not click.matches(ctx({"MsgType": "text", "Event": "CLICK", "EventKey": "INBOX"}))
    words = Rule("w", nothing, msg_type="text", keywords=("待办", "ToDo"))
    for text in ("待办", " todo ", "TODO\n", "tOdO"):
        assert words.matches(ctx({"MsgType": "text", "Content": text})), text
    for text in ("待办事项", "to do", ""):
        assert not words.matches(ctx({"MsgType": "text", "Content": text})), text
    guarded = Rule("g", nothing, when=lambda c: c.openid == "oU1")
    assert guarded.matches(ctx({"MsgType": "image"}))
    assert not guarded.matches(ctx({"MsgType": "image", "FromUserName": "oU2"}))


def test_first_match_wins_and_no_match_is_none():
    first, second = Rule("a", nothing, msg_type="text"), Rule("b", nothing, msg_type="text", keywords=("x",))
    c = ctx({"MsgType": "text", "Content": "x"})
    assert route([first, second], c) is first
    assert route([second, first], c) is second
    assert route([second], ctx({"MsgType": "text", "Content": "y"})) is None


def test_compose_replaces_by_name_and_puts_new_rules_first():
    base = [Rule("a", nothing, msg_type="text"), Rule("b", nothing, msg_type="event")]
    replacement = Rule("b", nothing, msg_type="event", event="CLICK")
    extra = Rule("c", nothing, msg_type="text", keywords=("hi",))
    composed = compose(base, [replacement, extra])
    assert [r.name for r in composed] == ["c", "a", "b"]
    assert composed[2] is replacement
    assert [r.name for r in base] == ["a", "b"] and base[1] is not replacement


def test_default_table_reads_as_documented():
    names = [rule.name for rule in default.RULES]
    assert names == ["subscribe", "unsubscribe", "qr_scan", "inbox_text", "inbox_click", "unbind_click",
                     "template_finished", "keyword_replies"]


# ---- per-tenant modules ----------------------------------------------------------------------

def test_demo_module_applies_to_demo_only():
    book = RuleBook()
    demo_rules = book.rules_for(tenant("demo"))
    acme_rules = book.rules_for(tenant("acme"))
    assert acme_rules == default.RULES
    assert {"demo_ping", "demo_about"} <= {r.name for r in demo_rules}
    unbind = next(r for r in demo_rules if r.name == "unbind_click")
    assert unbind.handler is not default.unbind_hint
    assert len(demo_rules) == len(default.RULES) + 2
    assert book.rules_for(tenant("demo")) is demo_rules  # loaded once


def test_slugs_without_a_module_and_the_reserved_one_get_the_default_table():
    book = RuleBook()
    for slug in ("default", "router", "registry", "model", "validation", "9lives", "no-such-co"):
        assert book.rules_for(tenant(slug)) == default.RULES, slug


def test_any_slug_may_have_its_own_module_even_one_named_like_a_module(tmp_path, caplog):
    rule = ("from tenants import Rule\n"
            "async def hi(ctx):\n    return ctx.text('hi from {slug}')\n"
            "RULES = [Rule('hi', hi, msg_type='text', keywords=('hi',))]\n")
    for name in ("my_co", "router", "registry", "9lives", "default"):
        (tmp_path / f"{name}.py").write_text(rule.format(slug=name))
    (tmp_path / "no_rules.py").write_text("X = 1\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "wrong_type.py").write_text("RULES = ['not a rule']\n")
    book = RuleBook(directory=tmp_path)
    for slug in ("my-co", "router", "registry", "9lives"):
        rules = book.rules_for(tenant(slug))
        assert rules[0].name == "hi" and len(rules) == len(default.RULES) + 1, slug
    # `default` names every tenant's table: it is no tenant's own module (and no tenant may take the slug).
    assert book.rules_for(tenant("default")) == default.RULES
    for slug in ("no-rules", "broken", "wrong-type"):
        assert book.rules_for(tenant(slug)) == default.RULES, slug
    assert "broken" in caplog.text and "boom" not in caplog.text


# ---- default handlers ------------------------------------------------------------------------

async def test_subscribe_and_unsubscribe():
    followers = FakeFollowers()
    name, reply = await handled(ctx({"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_9"},
                                    followers=followers))
    assert name == "subscribe" and reply is not None
    assert f"{PUBLIC}/wx/acme/entry?next=inbox" in reply.content
    name, reply = await handled(ctx({"MsgType": "event", "Event": "unsubscribe"}, followers=followers))
    assert name == "unsubscribe" and reply is None
    assert followers.recorded == [("acme", "oU1", True), ("acme", "oU1", False)]


async def test_pending_count_bound_unbound_and_zero():
    link = f"{PUBLIC}/wx/acme/entry?next=inbox"
    for message in ({"MsgType": "text", "Content": "待办"}, {"MsgType": "event", "Event": "CLICK", "EventKey": "INBOX"}):
        _, unbound = await handled(ctx(message, inbox=FakeInbox(None)))
        _, zero = await handled(ctx(message, inbox=FakeInbox(0)))
        _, some = await handled(ctx(message, inbox=FakeInbox(12)))
        assert unbound and "绑定" in unbound.content and link in unbound.content
        assert zero and "没有待办" in zero.content
        assert some and "12 条待办" in some.content and link in some.content
    _, unbind = await handled(ctx({"MsgType": "event", "Event": "CLICK", "EventKey": "UNBIND"}))
    assert unbind and "解除绑定" in unbind.content and link in unbind.content


async def test_keyword_replies_in_order():
    t = tenant(replies=[{"match": "contains", "keyword": "Invoice", "reply": "contains-invoice"},
                        {"match": "exact", "keyword": "invoice", "reply": "exact-invoice"},
                        {"match": "exact", "keyword": "价格", "reply": "price"}])
    cases = {"my INVOICE please": "contains-invoice", "invoice": "contains-invoice", " 价格 ": "price",
             "价格表": None, "": None}
    for text, expected in cases.items():
        name, reply = await handled(ctx({"MsgType": "text", "Content": text}, t=t))
        assert (reply.content if reply else None) == expected, text
        assert name == ("keyword_replies" if expected else None)
    # The built-in 待办 command is not shadowed by a keyword reply.
    t.replies.append({"match": "exact", "keyword": "待办", "reply": "shadow"})
    name, _ = await handled(ctx({"MsgType": "text", "Content": "待办"}, t=t))
    assert name == "inbox_text"


async def test_template_finished_hook():
    calls: list[tuple[str, str, str]] = []

    async def hook(t: Tenant, msgid: str, status: str) -> None:
        calls.append((t.slug, msgid, status))

    base = {"MsgType": "event", "Event": "TEMPLATESENDJOBFINISH"}
    await handled(ctx({**base, "MsgID": "200163836", "Status": "failed: system failed"}, hook=hook))
    await handled(ctx({**base, "Status": "success"}, hook=hook))
    assert calls == [("acme", "200163836", "failed: system failed")]


async def test_anything_else_has_no_rule():
    for message in ({"MsgType": "image"}, {"MsgType": "event", "Event": "VIEW", "EventKey": "http://x"},
                    {"MsgType": "event", "Event": "CLICK", "EventKey": "OTHER"}, {"MsgType": "text", "Content": "hi"}):
        assert await handled(ctx(message)) == (None, None)


def test_links_and_replies():
    links = Links(PUBLIC, "acme-co")
    assert links.entry("doc/A 1") == f"{PUBLIC}/wx/acme-co/entry?next=doc/A%201"
    assert links.binding == links.inbox == f"{PUBLIC}/wx/acme-co/entry?next=inbox"
    text = parse_xml(Reply.text("你好 ]]> there").to_xml("oU1", "gh_x", 1700000000))
    assert text == {"ToUserName": "oU1", "FromUserName": "gh_x", "CreateTime": "1700000000",
                    "MsgType": "text", "Content": "你好 ]]> there"}
    news = parse_xml(Reply.news("标题", "说明", "https://x.example/a").to_xml("oU1", "gh_x", 1))
    assert news["MsgType"] == "news" and news["ArticleCount"] == "1" and news["Articles.item"] == ""


# ---- dedupe key ------------------------------------------------------------------------------

def test_dedupe_key():
    text = {"MsgType": "text", "FromUserName": "oU1", "CreateTime": "1", "MsgId": "123"}
    assert dedupe_key(text) == dedupe_key({**text, "CreateTime": "2"})  # a retry may be re-stamped
    assert dedupe_key(text) != dedupe_key({**text, "MsgId": "124"})
    report = {"MsgType": "event", "Event": "TEMPLATESENDJOBFINISH", "FromUserName": "oU1", "CreateTime": "1",
              "MsgID": "123"}
    assert dedupe_key(report) is not None and dedupe_key(report) != dedupe_key(text)
    click = {"MsgType": "event", "Event": "CLICK", "EventKey": "A", "FromUserName": "oU1", "CreateTime": "5"}
    assert dedupe_key(click) == dedupe_key({**click, "EventKey": "B"})
    assert dedupe_key(click) != dedupe_key({**click, "Event": "VIEW"})
    assert dedupe_key(click) != dedupe_key({**click, "CreateTime": "6"})
    assert dedupe_key(click) != dedupe_key({**click, "FromUserName": "oU2"})
    assert dedupe_key({"MsgType": "text", "FromUserName": "oU1", "CreateTime": "1"}) is None
    assert len(dedupe_key(click) or "") == 64


# ---- default rules over HTTP ---------------------------------------------------------------------------

async def test_subscribe_welcomes_with_binding_link_and_unsubscribe_is_recorded(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        tenant = g.gw.registry.require("acme")
        reply = wx.reply(await wx.post(wx.event("subscribe", "qrscene_123")))
        assert f"{HTTP_PUBLIC}/wx/acme/entry?next=inbox" in reply["Content"] and "欢迎" in reply["Content"]
        # Follower notes are written after the answer: wait for them.
        await wait_for(lambda: g.gw.callbacks.followers.is_subscribed(tenant, OPENID))
        r = await wx.post(wx.event("unsubscribe", create_time=int(g.gw.clock.now()) + 1))
        assert r.text == "success"

        async def unsubscribed() -> bool:
            return await g.gw.callbacks.followers.is_subscribed(tenant, OPENID) is False
        await wait_for(unsubscribed)
        row = await g.gw.storage.fetchone("SELECT subscribed FROM followers WHERE tenant_id = ? AND openid = ?",
                                          (tenant.id, OPENID))
        assert row is not None and int(row["subscribed"]) == 0


async def test_todo_and_menu_keys(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        link = f"{HTTP_PUBLIC}/wx/acme/entry?next=inbox"
        unbound = wx.reply(await wx.post(wx.text("待办")))["Content"]
        assert "绑定" in unbound and link in unbound
        spy = g.gw.callbacks.inbox = SpyInbox(count=3)
        for message in (wx.text("  TODO "), wx.text("待办"), wx.event("CLICK", "INBOX")):
            content = wx.reply(await wx.post(message))["Content"]
            assert "3 条待办" in content and link in content
        assert spy.calls[-1] == ("acme", OPENID)
        # Events dedupe on sender + CreateTime + Event, so a second click is a second later.
        later = int(g.gw.clock.now()) + 1
        content = wx.reply(await wx.post(wx.event("CLICK", "UNBIND", create_time=later)))["Content"]
        assert "解除绑定" in content and link in content
        for message in (wx.text("todo please"), wx.event("VIEW", "http://x.example/"), wx.event("LOCATION"),
                        wx.event("CLICK", "SOMETHING", create_time=later + 1), {**wx.text(""), "MsgType": "image"}):
            assert (await wx.post(message)).text == "success"


async def test_keyword_replies_exact_and_contains(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        rules = [{"match": "exact", "keyword": "价格", "reply": "价格表见官网"},
                 {"match": "contains", "keyword": "发票", "reply": "发票请找财务"},
                 {"match": "exact", "keyword": "todo", "reply": "never used: 待办 is built in"}]
        r = await g.admin("PUT", "/admin/api/tenants/acme/replies", {"rules": rules})
        assert r.status == 200, r.text
        assert wx.reply(await wx.post(wx.text(" 价格 ")))["Content"] == "价格表见官网"
        assert wx.reply(await wx.post(wx.text("我的发票在哪里")))["Content"] == "发票请找财务"
        assert (await wx.post(wx.text("价格表"))).text == "success"
        assert "绑定" in wx.reply(await wx.post(wx.text("todo")))["Content"]
        other = await WeChat.create(g, "beta")
        assert (await other.post(other.text("价格"))).text == "success"


async def test_template_send_job_finish_calls_the_delivery_hook(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        calls: list[tuple[str, str, str]] = []

        async def finished(tenant: Any, msgid: str, status: str) -> None:
            calls.append((tenant.slug, msgid, status))

        g.gw.callbacks.deliveries = finished
        report = wx.event("TEMPLATESENDJOBFINISH", MsgID=200163836, Status="failed:user block")
        assert (await wx.post(report)).text == "success"
        assert (await wx.post(report, nonce="31337")).text == "success"
        ok = wx.event("TEMPLATESENDJOBFINISH", MsgID=200163837, Status="success")
        await wx.post(ok)
        assert calls == [("acme", "200163836", "failed:user block"), ("acme", "200163837", "success")]


async def test_demo_rules_apply_to_the_demo_tenant_only(env):
    async with env.gateway() as g:
        demo = await WeChat.create(g, "demo")
        acme = await WeChat.create(g, "acme")
        assert "pong" in demo.reply(await demo.post(demo.text("ping")))["Content"]
        assert (await acme.post(acme.text("ping"))).text == "success"
        assert "entry?next=password" in demo.reply(await demo.post(demo.event("CLICK", "UNBIND")))["Content"]
        assert "entry?next=inbox" in acme.reply(await acme.post(acme.event("CLICK", "UNBIND")))["Content"]
        assert "绑定" in demo.reply(await demo.post(demo.text("待办")))["Content"]
