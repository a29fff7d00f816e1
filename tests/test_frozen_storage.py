"""A frozen database (every storage call hanging) costs a WeChat callback at most 2 s: the 待办
text still gets a plain answer ("暂时无法查询…"), a follow gets its welcome, a delivery report its
`success`; on MariaDB every statement has a timeout, so a PUT answers 503 instead of hanging."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from harness import document, tenant_body, wait_for
from test_callback_latency import slow_down
from test_storage_faults import Proxy
from wechat_push import SpyInbox, WeChat

BOUND = 2.5  # 2 s for storage, plus the test's own overhead


async def timed(wx: WeChat, fields: dict[str, Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = await wx.post(fields)
    return response, time.monotonic() - started


async def test_frozen_storage_costs_a_callback_at_most_two_seconds(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="safe")
        g.gw.callbacks.inbox = g.gw.documents  # the real 待办 count, from storage
        undo = slow_down(g.gw.storage, 8.0)  # frozen far longer than WeChat waits
        try:
            todo, elapsed = await timed(wx, wx.text("待办"))
            assert elapsed < BOUND, elapsed
            assert "暂时无法查询待办" in wx.reply(todo)["Content"] and "/wx/acme/entry?next=inbox" in wx.reply(todo)["Content"]
            welcome, elapsed = await timed(wx, wx.event("subscribe", openid="o_new_follower"))
            assert elapsed < BOUND, elapsed
            assert "欢迎关注" in wx.reply(welcome)["Content"]
            report, elapsed = await timed(wx, {**wx.event("TEMPLATESENDJOBFINISH"), "MsgID": "200163836",
                                               "Status": "success"})
            assert elapsed < BOUND, elapsed
            assert report.text == "success"
        finally:
            undo()
        # Once the database answers again the follower note lands (it was written after the answer).
        await wait_for(lambda: g.gw.callbacks.followers.is_subscribed(
            g.gw.registry.require("acme"), "o_new_follower"), timeout=40)


async def test_a_slow_count_in_a_healthy_gateway_is_still_answered(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        g.gw.callbacks.inbox = SpyInbox(count=3, delay=0.5)
        reply, elapsed = await timed(wx, wx.text("todo"))
        assert "3 条待办" in wx.reply(reply)["Content"] and elapsed < BOUND


async def test_frozen_mariadb_answers_503_within_the_query_timeout(env, backend):
    if backend != "mysql":
        pytest.skip("the statement timeout is MariaDB's (SQLite is a local file)")
    await env.ensure_database()
    proxy = await Proxy().start()
    try:
        settings = env.settings(storage={"url": proxy.url(env.db_name), "query_timeout": 1.0})
        async with env.gateway(settings=settings) as g:
            created = await g.admin("POST", "/admin/api/tenants", tenant_body("acme"))
            key = created.json["api_key"]
            wx = await WeChat.create(g, slug="beta")
            g.gw.callbacks.inbox = g.gw.documents
            proxy.frozen = True
            started = time.monotonic()
            r = await g.request("PUT", "/api/v1/acme/documents/D1", document(["a"]), token=key)
            assert r.status == 503 and r.json["error"]["code"] == "unavailable"
            assert time.monotonic() - started < 3.5  # the key check and the write: 1 s each at most
            todo, elapsed = await timed(wx, wx.text("待办"))
            assert elapsed < BOUND and "暂时无法查询待办" in wx.reply(todo)["Content"]
            proxy.frozen = False
            r = await g.request("PUT", "/api/v1/acme/documents/D1", document(["a"]), token=key)
            assert r.status == 201, r.text  # fresh connections replace the ones that timed out
    finally:
        await proxy.stop()
