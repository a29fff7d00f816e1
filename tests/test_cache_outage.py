"""Nothing lost to a cache outage: with the cache down the token centre still fetches one token per
tenant for all processes (a lease in storage), a token already held is used until it expires, and a
send met by a storage or cache outage is not an attempt: it waits, then goes out, with one log line
per outage instead of one per row."""
from __future__ import annotations

import asyncio
import logging

from gateway.cache import CacheError
from gateway.platform.clock import Clock
from gateway.storage import StorageError
from harness import document, wait_for
from wechat_env import Simulator, wechat_env

DEAD_CACHE = {"url": "redis://127.0.0.1:1/0"}  # nothing listens on port 1: every cache call fails


async def test_without_the_cache_two_processes_fetch_one_token_for_all(env):
    async with Simulator() as sim:
        settings = sim.wechat(timeout=2.0)
        await sim.add_tenant_app("acme")
        async with env.gateway(wechat=settings, cache=DEAD_CACHE, drop=False) as one, \
                env.gateway(wechat=settings, cache=DEAD_CACHE) as two:
            await one.create_tenant("acme", wechat={"app_id": "wx61636d6500000000"})
            await wait_for(lambda: two.gw.registry.get("acme"), timeout=10)
            tenants = [g.gw.registry.require("acme") for g in (one, two)]
            tokens = await asyncio.gather(*(g.gw.tokens.access_token(t) for _ in range(20)
                                            for g, t in zip((one, two), tenants)))
            assert len(set(tokens)) == 1
            assert sim.state.call_count("cgi-bin/token") == 1


async def test_a_token_held_is_used_until_it_expires_while_the_cache_is_down(env):
    clock = Clock()
    async with wechat_env(env, clock=clock) as wx:
        first = await wx.g.gw.tokens.access_token(wx.tenant)
        assert wx.count("cgi-bin/token") == 1
        cache = wx.g.gw.cache

        async def down(*args, **kwargs):
            raise CacheError("cache down")
        for name in ("get", "set", "set_if_absent", "acquire", "delete_if_equals", "incr", "delete"):
            setattr(cache, name, down)
        wx.advance(600)  # well past the 5 s this process would otherwise trust its copy without asking
        assert await wx.g.gw.tokens.access_token(wx.tenant) == first
        assert wx.count("cgi-bin/token") == 1
        wx.advance(7200)  # expired: one fetch, through the lease in storage
        second = await wx.g.gw.tokens.access_token(wx.tenant)
        assert second != first and wx.count("cgi-bin/token") == 2


async def test_an_outage_during_a_send_is_not_an_attempt_and_the_row_goes_out_after_it(env, caplog):
    async with wechat_env(env) as wx:
        await wx.put_account("alice", "Tangerine-42-Quilt")
        await wx.g.gw.bindings.bind(wx.tenant, (await wx.g.gw.directory.row(wx.tenant, "alice"))["id"], "alice",
                                    "o_alice", actor="test")
        # The sender reads recipients through its coalescing lookup (one recipients() call a tenant).
        lookup = wx.g.gw.sender.recipients
        real = lookup.source
        failures = {"left": 12}

        class Flaky:
            async def recipients(self, tenant, logins):  # storage down for the first 12 looks
                if failures["left"] > 0:
                    failures["left"] -= 1
                    raise StorageError("database unreachable")
                return await real.recipients(tenant, logins)
        lookup.source = Flaky()
        with caplog.at_level(logging.WARNING):
            r = await wx.tenant_api("PUT", "/documents/D1", document(["alice"]))
            assert r.status == 201
            wx.g.gw.outbox.lease_seconds = 15.0

            async def sent():
                for _ in range(3):  # deferred rows come back 2-4 s later; do not wait for the clock
                    await wx.g.gw.storage.execute("UPDATE outbox SET next_at = 0 WHERE state = 'queued'"
                                                  " AND lease_owner IS NULL")
                    wx.g.gw.delivery.wake()
                rows = await wx.g.gw.storage.fetchall("SELECT state, attempts FROM outbox")
                return rows if rows and rows[0]["state"] == "done" else None
            rows = await wait_for(sent, timeout=30, every=0.2)
        assert failures["left"] == 0
        assert rows[0]["attempts"] == 1, rows  # twelve outages, one real attempt
        assert wx.count("cgi-bin/message/template/send") == 1
        lines = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(lines) == 1 and "storage" in lines[0], lines
        assert not [r for r in caplog.records if r.exc_info], "no traceback per row"
