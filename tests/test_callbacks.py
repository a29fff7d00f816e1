"""WeChat callbacks over HTTP: URL verification, the three message modes, key rotation, dedupe of
retries (also concurrent, across processes and with the cache down), handler failures and time
limits, metrics; the default rules over HTTP are in test_router.py."""
from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from gateway.callbacks.pipeline import DUPLICATE_WAIT_SECONDS
from gateway.onboarding.checklist import build_checklist
from gateway.platform.clock import Clock
from gateway.wechat.crypto import CryptoError, sha1_signature
from gateway.wechat.xmlmsg import build_message, parse_xml
from harness import metric, wait_for
from wechat_push import AES_KEY, AES_KEY2, OPENID, SpyInbox, WeChat, slow_rule

PUBLIC = "http://127.0.0.1:8080"


def vector_clock(ts: int) -> Clock:
    clock = Clock()
    clock.offset = ts - time.time()
    return clock


# ---- URL verification ------------------------------------------------------------------------

async def test_get_verify_with_official_vector_v1b(env):
    async with env.gateway(clock=vector_clock(1714037059)) as g:
        wx = await WeChat.create(g, "acme", token="AAAAA")
        tenant = g.gw.registry.require("acme")
        steps = (await build_checklist(tenant, g.gw.state, PUBLIC, []))["steps"]
        assert next(s for s in steps if s["id"] == "callback")["ok"] is False
        query = {"signature": "899cf89e464efb63f54ddac96b0a0a235f53aa78", "timestamp": "1714037059",
                 "nonce": "486452656", "echostr": "hello 123"}
        r = await g.request("GET", f"{wx.path}?{urlencode(query)}")
        assert r.status == 200 and r.body == b"hello 123"
        assert r.headers["Content-Type"].startswith("text/plain")

        async def callback_step_ok() -> bool:
            steps = (await build_checklist(tenant, g.gw.state, PUBLIC, []))["steps"]
            return next(s for s in steps if s["id"] == "callback")["ok"] is True
        await wait_for(callback_step_ok, timeout=5)  # recorded after the answer
        bad = dict(query, signature="899cf89e464efb63f54ddac96b0a0a235f53aa79")
        r = await g.request("GET", f"{wx.path}?{urlencode(bad)}")
        assert r.status == 403 and b"hello" not in r.body


async def test_get_verify_missing_wrong_and_unknown(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        assert (await wx.verify("abc")).text == "abc"
        assert (await wx.verify("abc", token="someoneelse")).status == 403
        for drop in ("signature", "timestamp", "nonce", "echostr"):
            ts = wx.now()
            query = {"signature": sha1_signature(wx.token, ts, "99"), "timestamp": ts, "nonce": "99",
                     "echostr": "abc"}
            del query[drop]
            r = await g.request("GET", f"{wx.path}?{urlencode(query)}")
            assert r.status == 403, drop
        r = await g.request("GET", "/wx/nosuch/callback?signature=a&timestamp=1&nonce=1&echostr=x")
        assert r.status == 404
        tenant_id = g.gw.registry.require("acme").id
        await wait_for(lambda: g.gw.state.get(tenant_id, "callback_seen"), timeout=5)


async def test_first_signed_post_marks_callback_seen(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        tenant_id = g.gw.registry.require("acme").id
        await wx.post(wx.text("hi"), token="forged")
        # Signed but stale: a replay, not a sign that WeChat reaches the gateway.
        stale = str(int(g.gw.clock.now()) - 3600)
        assert (await wx.post(wx.text("hi"), ts=stale)).status == 403
        await g.gw.callbacks.drain()
        assert await g.gw.state.get(tenant_id, "callback_seen") is None
        assert (await wx.post(wx.text("hi"))).text == "success"
        await wait_for(lambda: g.gw.state.get(tenant_id, "callback_seen"), timeout=5)  # recorded after the answer


# ---- the three modes -------------------------------------------------------------------------

async def test_plain_mode_reply(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        r = await wx.post(wx.text("待办"))
        assert r.headers["Content-Type"].startswith("application/xml")
        reply = wx.reply(r)
        assert reply["ToUserName"] == OPENID and reply["FromUserName"] == wx.original_id
        assert reply["MsgType"] == "text"
        assert f"{PUBLIC}/wx/acme/entry?next=inbox" in reply["Content"]
        assert metric(g, "gateway_callbacks_total", tenant="acme", outcome="ok") == 1
        assert (g.gw.metrics.registry.get_sample_value("gateway_callback_seconds_count", {"tenant": "acme"})
                == 1)


async def test_compat_mode_uses_the_encrypted_copy_and_encrypts_the_reply(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="compat")
        g.gw.callbacks.inbox = SpyInbox(count=2)
        fields = wx.text("待办")
        query, _ = wx.signed(fields)
        # The plaintext copy says something else: only the signed, encrypted copy counts.
        body = build_message({**fields, "Content": "nothing", "Encrypt": parse_xml(_)["Encrypt"]})
        r = await wx.send(query, body)
        assert b"<Encrypt>" in r.body
        assert "2 条待办" in wx.reply(r)["Content"]
        # Compat mode also takes a plain push, and answers it in plain.
        r = await wx.post(wx.text("todo"), mode="plain")
        assert b"<Encrypt>" not in r.body and "2 条待办" in wx.reply(r)["Content"]


async def test_safe_mode_reply_encrypted_and_signed(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="safe")
        r = await wx.post(wx.text("todo"), ts=wx.now(), nonce="777888")
        outer = parse_xml(r.body)
        assert set(outer) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
        assert outer["Nonce"] == "777888"
        reply = wx.reply(r)
        assert reply["ToUserName"] == OPENID and reply["FromUserName"] == wx.original_id
        assert "绑定" in reply["Content"]
        assert (await wx.post(wx.text("nothing to see"))).text == "success"


async def test_safe_mode_with_easywechat_vector_v4(env):
    async with env.gateway(clock=vector_clock(1458300676)) as g:
        wx = await WeChat.create(g, "vec", mode="safe", token="pamtest", app_id="wxb11529c136998cb6",
                                 aes_key=AES_KEY)
        r = await g.admin("PUT", "/admin/api/tenants/vec/replies",
                          {"rules": [{"match": "exact", "keyword": "hello", "reply": "world"}]})
        assert r.status == 200, r.text
        encrypt = ("rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTq"
                   "dFPwnhqbk+kIQ7rZiwny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1p"
                   "W9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7QRI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U0"
                   "1I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQMLrourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IK"
                   "ZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1BsrASwvauNulCh+++yz+CQzBIuikA==")
        query = {"signature": sha1_signature("pamtest", "1458300676", "260774613"), "timestamp": "1458300676",
                 "nonce": "260774613", "encrypt_type": "aes",
                 "msg_signature": "4f3ad57b6989f09f4eb392acce4f9e93942ed890"}
        r = await wx.send(query, build_message({"ToUserName": "gh_vec01", "Encrypt": encrypt}))
        reply = wx.reply(r)
        assert reply["Content"] == "world" and reply["ToUserName"] == "asdasdasdsadasd"
        assert parse_xml(r.body)["TimeStamp"] == "1458300676"


async def test_previous_key_still_decrypts_after_a_key_change(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="safe", aes_key=AES_KEY)
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"encoding_aes_key": AES_KEY2}})
        assert r.status == 200, r.text
        r = await wx.post(wx.text("todo"), key=AES_KEY)
        assert "绑定" in wx.reply(r, key=AES_KEY)["Content"]
        with pytest.raises(CryptoError):  # the reply uses the key that decrypted the request
            wx.reply(r, key=AES_KEY2)
        r = await wx.post(wx.text("todo"), key=AES_KEY2)
        assert "绑定" in wx.reply(r, key=AES_KEY2)["Content"]
        third = "Q" * 43
        assert (await wx.post(wx.text("todo"), key=third)).status == 403


# ---- dedupe ----------------------------------------------------------------------------------

async def test_msgid_retry_runs_once_and_gets_identical_bytes(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="safe")
        spy = g.gw.callbacks.inbox = SpyInbox(count=5)
        query, body = wx.signed(wx.text("待办", msg_id=4363689963896700987))
        first = await wx.send(query, body)
        again = await wx.send(query, body)  # WeChat's retry repeats the request byte for byte
        other_nonce = await wx.post(wx.text("待办", msg_id=4363689963896700987), nonce="424242")
        assert len(spy.calls) == 1
        assert first.body == again.body == other_nonce.body
        assert "5 条待办" in wx.reply(first)["Content"]
        assert metric(g, "gateway_callbacks_total", tenant="acme", outcome="duplicate") == 2
        await wx.post(wx.text("待办"))
        assert len(spy.calls) == 2


async def test_concurrent_duplicate_runs_once(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        spy = g.gw.callbacks.inbox = SpyInbox(count=1, delay=1.0)
        query, body = wx.signed(wx.text("todo"))
        a, b, c = await asyncio.gather(wx.send(query, body), wx.send(query, body), wx.send(query, body))
        assert len(spy.calls) == 1
        assert a.body == b.body == c.body and "1 条待办" in wx.reply(a)["Content"]


async def test_retry_to_another_process_runs_once(env):
    async with env.gateway() as g1, env.gateway(drop=False) as g2:
        wx1 = await WeChat.create(g1)
        await asyncio.sleep(0.1)
        await g2.gw.registry.load_all()
        wx2 = WeChat(g2, wx1.slug, wx1.token, wx1.app_id, None, wx1.original_id, "plain")
        spy1 = g1.gw.callbacks.inbox = SpyInbox(count=4)
        spy2 = g2.gw.callbacks.inbox = SpyInbox(count=4)
        query, body = wx1.signed(wx1.text("todo"))
        first = await wx1.send(query, body)
        retry = await wx2.send(query, body)
        assert len(spy1.calls) + len(spy2.calls) == 1
        assert first.body == retry.body


async def test_event_dedupe_by_sender_time_and_event(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        spy = g.gw.callbacks.inbox = SpyInbox(count=0)
        t = int(g.gw.clock.now())
        click = wx.event("CLICK", "INBOX", create_time=t)
        assert "没有待办" in wx.reply(await wx.post(click))["Content"]
        assert "没有待办" in wx.reply(await wx.post(click, nonce="55555"))["Content"]
        assert len(spy.calls) == 1
        # Same sender and time, another event: a different push, handled.
        r = await wx.post(wx.event("subscribe", create_time=t))
        assert "欢迎" in wx.reply(r)["Content"]
        # The follower note is written after the answer: wait for it.
        await wait_for(lambda: g.gw.callbacks.followers.is_subscribed(g.gw.registry.require("acme"), OPENID))
        # Same event and time from another user, or a second later: handled too.
        await wx.post(wx.event("CLICK", "INBOX", openid="oOther", create_time=t))
        await wx.post(wx.event("CLICK", "INBOX", create_time=t + 1))
        assert len(spy.calls) == 3


async def test_dedupe_is_per_tenant(env):
    async with env.gateway() as g:
        a = await WeChat.create(g, "acme")
        b = await WeChat.create(g, "beta")
        spy = g.gw.callbacks.inbox = SpyInbox()
        await a.post(a.text("todo", msg_id=42))
        await b.post(b.text("todo", msg_id=42))
        assert [slug for slug, _ in spy.calls] == ["acme", "beta"]


async def test_cache_down_still_dedupes_through_the_database(env):
    dead = {"url": "redis://127.0.0.1:1/0"}
    async with env.gateway(cache=dead) as g1, env.gateway(drop=False, cache=dead) as g2:
        wx = await WeChat.create(g1)
        await g2.gw.registry.load_all()
        wx2 = WeChat(g2, wx.slug, wx.token, wx.app_id, None, wx.original_id, "plain")
        spy1 = g1.gw.callbacks.inbox = SpyInbox(count=7)
        spy2 = g2.gw.callbacks.inbox = SpyInbox(count=7, delay=0.5)
        query, body = wx.signed(wx.text("todo"))
        first = await wx.send(query, body)
        assert "7 条待办" in wx.reply(first)["Content"]
        assert (await wx.send(query, body)).body == first.body
        assert (await wx2.send(query, body)).body == first.body
        assert len(spy1.calls) + len(spy2.calls) == 1
        # Concurrent duplicates with no cache: one runs, the other waits for its reply in the database.
        query, body = wx2.signed(wx2.text("todo", msg_id=99))
        x, y = await asyncio.gather(wx2.send(query, body), wx2.send(query, body))
        assert len(spy2.calls) == 1 and x.body == y.body and "7 条待办" in wx.reply(x)["Content"]


async def test_cache_errors_mid_run_fall_back(env):
    from gateway.cache import CacheError

    async with env.gateway() as g:
        wx = await WeChat.create(g)
        spy = g.gw.callbacks.inbox = SpyInbox()

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise CacheError("cache unavailable")

        query, body = wx.signed(wx.text("todo"))
        first = await wx.send(query, body)
        for name in ("get", "set", "set_if_absent"):
            setattr(g.gw.cache, name, broken)
        assert (await wx.send(query, body)).body == first.body
        second = wx.signed(wx.text("todo"))
        assert (await wx.send(*second)).status == 200
        assert (await wx.send(*second)).body == (await wx.send(*second)).body
        assert len(spy.calls) == 2


async def test_old_dedupe_rows_are_purged(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        await wx.post(wx.text("hello"))
        tenant_id = g.gw.registry.require("acme").id
        await g.gw.storage.execute(
            "INSERT INTO callback_dedupe (tenant_id, dedupe_key, reply, created_at) VALUES (?, ?, ?, ?)",
            (tenant_id, "old", b"success", g.gw.clock.now() - 2 * 86400))
        assert await g.gw.callbacks.dedupe.purge() == 1
        assert await g.gw.storage.fetchval("SELECT COUNT(*) FROM callback_dedupe") == 1


# ---- handler failures and time limits --------------------------------------------------------

async def test_handler_that_raises_answers_success_and_is_counted(env, caplog):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        g.gw.callbacks.inbox = SpyInbox(fail=True)
        r = await wx.post(wx.text("待办"))
        assert r.status == 200 and r.text == "success"
        assert metric(g, "gateway_handler_errors_total", tenant="acme", kind="error") == 1
        assert metric(g, "gateway_callbacks_total", tenant="acme", outcome="handler_error") == 1
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert "RuntimeError" in logged and "inbox_text" in logged
        assert "待办" not in logged and wx.token not in logged and "exploded" not in logged
        g.gw.callbacks.inbox = SpyInbox(count=1)
        assert "1 条待办" in wx.reply(await wx.post(wx.text("待办")))["Content"]


async def test_slow_handler_gets_success_in_time_and_still_finishes(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="safe")
        spy = g.gw.callbacks.inbox = SpyInbox(delay=6.0)
        slow_rule(g)
        query, body = wx.signed(wx.text("todo"))
        started = time.monotonic()
        r = await wx.send(query, body)
        elapsed = time.monotonic() - started
        assert r.status == 200 and r.text == "success"
        assert 3.5 < elapsed < 4.9, elapsed  # WeChat gives up after 5 s
        assert metric(g, "gateway_handler_errors_total", tenant="acme", kind="timeout") == 1
        assert metric(g, "gateway_callbacks_total", tenant="acme", outcome="timeout") == 1
        # WeChat's retry is answered at once with the stored `success`, without a second run.
        retry_started = time.monotonic()
        assert (await wx.send(query, body)).text == "success"
        assert time.monotonic() - retry_started < 1.0
        await asyncio.sleep(6.5 - (time.monotonic() - started))
        assert spy.finished == 1 and len(spy.calls) == 1


async def test_concurrent_duplicate_of_a_slow_handler_answers_in_time(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        spy = g.gw.callbacks.inbox = SpyInbox(delay=5.0)
        slow_rule(g)
        query, body = wx.signed(wx.text("todo"))
        started = time.monotonic()
        a, b = await asyncio.gather(wx.send(query, body), wx.send(query, body))
        assert time.monotonic() - started < DUPLICATE_WAIT_SECONDS + 0.5
        assert a.text == b.text == "success" and len(spy.calls) == 1
        await g.gw.callbacks.drain()
        assert spy.finished == 1


async def test_metrics_name_tenant_and_outcome(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        await wx.post(wx.text("hi"))
        await wx.post(wx.text("hi"), token="forged")
        text = (await g.request("GET", "/metrics")).text
        assert 'gateway_callbacks_total{outcome="ok",tenant="acme"} 1.0' in text or \
            'gateway_callbacks_total{tenant="acme",outcome="ok"} 1.0' in text
        assert 'outcome="bad_signature"' in text

