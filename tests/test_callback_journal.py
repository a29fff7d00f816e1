"""Group commit of the callback dedupe table: concurrent callbacks share batches (fewer writes than
callbacks), every claim is committed before its handler runs and every first reply is stored, a
second claim of one message in a batch loses, a row already there wins over a new claim, and a
storage failure answers `unavailable` for the whole batch."""
from __future__ import annotations

import asyncio

import pytest

from gateway.callbacks.journal import DUPLICATE, UNAVAILABLE, WON, DedupeJournal
from gateway.storage import StorageError
from wechat_push import SpyInbox, WeChat


async def test_concurrent_callbacks_share_batches_and_every_reply_is_stored(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g, mode="safe")
        spy = g.gw.callbacks.inbox = SpyInbox(count=3)
        journal = g.gw.callbacks.dedupe.journal
        tenant_id = g.gw.registry.require("acme").id
        before = journal.batches
        responses = await asyncio.gather(*(wx.post(wx.text("todo")) for _ in range(40)))
        assert all(r.status == 200 and "3 条待办" in wx.reply(r)["Content"] for r in responses)
        assert len(spy.calls) == 40
        assert journal.batches - before < 40  # group commit: batches carry several callbacks
        await g.gw.callbacks.drain()
        stored = await g.gw.storage.fetchall("SELECT reply FROM callback_dedupe WHERE tenant_id = ?", (tenant_id,))
        assert sorted(bytes(row["reply"]) for row in stored) == sorted(r.body for r in responses)


async def test_a_claim_is_committed_before_the_handler_runs(env):
    async with env.gateway() as g:
        wx = await WeChat.create(g)
        tenant_id = g.gw.registry.require("acme").id
        rows_seen: list[int] = []

        class Inbox(SpyInbox):
            async def pending_count(self, tenant, openid):
                rows_seen.append(await g.gw.storage.fetchval(
                    "SELECT COUNT(*) FROM callback_dedupe WHERE tenant_id = ?", (tenant_id,)))
                return 1

        g.gw.callbacks.inbox = Inbox()
        await wx.post(wx.text("todo", msg_id=777))
        assert rows_seen == [1]


@pytest.mark.parametrize("returning", [True, False], ids=["one-statement", "one-by-one (MySQL)"])
async def test_claims_in_one_batch_and_against_existing_rows(env, returning):
    async with env.gateway() as g:
        await WeChat.create(g)
        tenant_id = g.gw.registry.require("acme").id
        await g.gw.storage.execute(
            "INSERT INTO callback_dedupe (tenant_id, dedupe_key, reply, created_at) VALUES (?, ?, ?, ?)",
            (tenant_id, "old", b"first", g.gw.clock.now()))
        journal = DedupeJournal(g.gw.storage, g.gw.clock)
        if not returning:
            journal._returning = False  # as on MySQL, which has no INSERT ... RETURNING
        futures = [journal.claim(tenant_id, "k1"), journal.claim(tenant_id, "k1"),
                   journal.claim(tenant_id, "old"), journal.claim(tenant_id, "k2")]
        assert await asyncio.gather(*futures) == [WON, DUPLICATE, DUPLICATE, WON]
        journal.store_reply(tenant_id, "k1", b"<xml>reply</xml>")
        while journal.writing:
            await asyncio.gather(*journal.writing)
        rows = {r["dedupe_key"]: r["reply"] for r in await g.gw.storage.fetchall(
            "SELECT dedupe_key, reply FROM callback_dedupe WHERE tenant_id = ?", (tenant_id,))}
        assert bytes(rows["k1"]) == b"<xml>reply</xml>" and bytes(rows["old"]) == b"first" and rows["k2"] is None


async def test_a_failed_batch_answers_unavailable_and_the_next_one_works(env):
    async with env.gateway() as g:
        await WeChat.create(g)
        tenant_id = g.gw.registry.require("acme").id
        journal = DedupeJournal(g.gw.storage, g.gw.clock)
        real = g.gw.storage.fetchall, g.gw.storage.transaction

        async def broken(*args, **kwargs):
            raise StorageError("database error")

        def broken_tx():
            raise StorageError("database error")

        g.gw.storage.fetchall, g.gw.storage.transaction = broken, broken_tx
        try:
            assert await asyncio.gather(journal.claim(tenant_id, "a"), journal.claim(tenant_id, "b")) == \
                [UNAVAILABLE, UNAVAILABLE]
        finally:
            g.gw.storage.fetchall, g.gw.storage.transaction = real
        assert await journal.claim(tenant_id, "a") == WON
