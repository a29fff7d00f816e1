"""The notification outbox: WeChat errors handled by WECHAT.md §7.4, 45009 pauses a tenant,
poison rows end, leases fence stale workers, per-tenant pacing, re-resolution at send time."""
from __future__ import annotations

import asyncio

import pytest

import gateway.tokens.centre
from gateway.platform.clock import Clock
from gateway.documents.outbox import claim_sql
from gateway.documents.template_sender import MAX_ATTEMPTS
from gateway.documents.webhooks import claim_sql as webhook_claim_sql
from harness import document, wait_for
from phone import sign_in
from wechat_env import Simulator

SEND = "cgi-bin/message/template/send"


async def _tenant(g, sim, slug="acme", logins=("alice",)):
    key = (await g.create_tenant(slug))["api_key"]
    app_id = await sim.add_tenant_app(slug, g.base_url)
    for login in logins:
        await sign_in(g, sim.client, app_id, slug, key, login, openid=f"o_{slug}_{login}")
    return key, app_id


async def _put(g, key, doc_id="PO-1", slug="acme", approvers=("alice",), cc=()):
    r = await g.request("PUT", f"/api/v1/{slug}/documents/{doc_id}", document(list(approvers), list(cc)), token=key)
    assert r.status == 201, r.text
    return r.json


async def _deliveries(g, key, doc_id="PO-1", slug="acme"):
    r = await g.request("GET", f"/api/v1/{slug}/documents/{doc_id}", token=key)
    return [x["delivery"] for x in r.json["recipients"]]


async def _final(g, key, doc_id="PO-1", slug="acme"):
    async def check():
        found = await _deliveries(g, key, doc_id, slug)
        return found if "queued" not in found else None
    return await wait_for(check)


async def _outbox_rows(g):
    return await g.gw.storage.fetchall("SELECT * FROM outbox ORDER BY id")


async def test_token_error_refreshes_once_and_retryable_errors_back_off(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, app_id = await _tenant(g, sim)
            await sim.client.inject_fault(SEND, 40001, count=1, app_id=app_id)
            await _put(g, key, "PO-1")
            assert await _final(g, key, "PO-1") == ["sent"]
            # The first fetch, then exactly one refresh after the 40001; the send was tried twice.
            assert await sim.client.call_count("cgi-bin/token", app_id) == 2
            assert await sim.client.call_count(SEND, app_id) == 2
            # -1 five times: three in the first attempt, then a retry (within 2 s) that succeeds.
            await sim.client.inject_fault(SEND, -1, count=5, app_id=app_id)
            await _put(g, key, "PO-2")
            assert await _final(g, key, "PO-2") == ["sent"]
            rows = await _outbox_rows(g)
            assert rows[-1]["attempts"] == 2 and rows[-1]["state"] == "done"
            assert len(await sim.client.sent(app_id)) == 2
            metrics = (await g.request("GET", "/metrics")).text
            assert 'gateway_template_sends_total{result="ok",tenant="acme"} 2.0' in metrics


async def test_unreachable_users_fail_for_good(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, app_id = await _tenant(g, sim, logins=("alice", "bob"))
            await sim.client.add_user(app_id, "o_acme_alice", subscribed=False)   # alice unfollowed
            await _put(g, key, "PO-1", approvers=("alice",))
            assert await _final(g, key, "PO-1") == ["failed:not_subscribed"]
            await sim.client.inject_fault(SEND, 40003, count=1, app_id=app_id)   # bob's openid is refused
            await _put(g, key, "PO-2", approvers=("bob",))
            assert await _final(g, key, "PO-2") == ["failed:invalid_openid"]
            assert await sim.client.call_count(SEND, app_id) == 2                 # no retries
            assert {r["state"] for r in await _outbox_rows(g)} == {"done"}


async def test_template_errors_reach_the_checklist(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, app_id = await _tenant(g, sim)
            await sim.client.inject_fault(SEND, 40037, count=1, app_id=app_id)
            await _put(g, key, "PO-1")
            assert await _final(g, key, "PO-1") == ["failed:invalid_template"]
            steps = {s["id"]: s for s in (await g.admin("GET", "/admin/api/tenants/acme/checklist")).json["steps"]}
            assert steps["templates"]["ok"] is False and "40037" in steps["templates"]["detail"]
            await _put(g, key, "PO-2")
            assert await _final(g, key, "PO-2") == ["sent"]
            steps = {s["id"]: s for s in (await g.admin("GET", "/admin/api/tenants/acme/checklist")).json["steps"]}
            assert steps["templates"]["ok"] is True
            assert steps["first_binding"]["ok"] is True


async def test_daily_quota_pauses_only_that_tenant(env):
    clock = Clock()
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(), clock=clock) as g:
            key, app_id = await _tenant(g, sim)
            beta_key, beta_app = await _tenant(g, sim, "beta")
            await sim.client.inject_fault(SEND, 45009, count=1, app_id=app_id)
            await _put(g, key)
            row = await wait_for(lambda: _deferred(g, clock.now() + 30))
            assert row["attempts"] == 0 and row["next_at"] - clock.now() >= 55   # paused, not a failure
            await _put(g, beta_key, slug="beta")
            assert await _final(g, beta_key, slug="beta") == ["sent"]
            assert await _deliveries(g, key) == ["queued"]
            clock.advance(70)
            g.gw.delivery.wake()
            assert await _final(g, key) == ["sent"]


async def _deferred(g, later_than):
    rows = await g.gw.storage.fetchall("SELECT * FROM outbox WHERE lease_owner IS NULL AND state = 'queued'"
                                       " AND next_at > ?", (later_than,))
    return rows[0] if rows else None


async def test_poison_row_ends_without_blocking_others(env, monkeypatch):
    monkeypatch.setattr(gateway.tokens.centre, "RETRY_BASE", 0.001)
    clock = Clock()
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(), clock=clock) as g:
            key, app_id = await _tenant(g, sim)
            beta_key, _ = await _tenant(g, sim, "beta")
            await sim.client.inject_fault(SEND, -1, count=10_000, app_id=app_id)
            await _put(g, key)
            await _put(g, beta_key, slug="beta")
            assert await _final(g, beta_key, slug="beta") == ["sent"]

            async def dead():
                rows = await g.gw.storage.fetchall("SELECT * FROM outbox WHERE tenant_id = ?",
                                                   (g.gw.registry.get("acme").id,))
                if rows[0]["lease_owner"] is None:  # not while an attempt runs: its lease would expire
                    clock.advance(400)  # past any backoff
                    g.gw.delivery.wake()
                return rows[0] if rows[0]["state"] == "dead" else None
            row = await wait_for(dead, timeout=60, every=0.05)
            assert row["attempts"] == MAX_ATTEMPTS and "-1" in row["last_error"]
            assert await _deliveries(g, key) == ["failed:gave_up"]


async def test_lease_fences_a_stale_worker_and_expires(env):
    clock = Clock()
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(), clock=clock) as g:
            key, app_id = await _tenant(g, sim)
            await g.gw.delivery.stop()     # claims are made by hand below
            await _put(g, key)
            outbox = g.gw.outbox
            [first] = await outbox.claim(10)
            assert await outbox.claim(10) == []                       # leased
            clock.advance(outbox.lease_seconds + 1)
            [second] = await outbox.claim(10)                         # the lease ran out: claimed again
            assert second.id == first.id and second.owner != first.owner
            assert await outbox.mark_sent(first, "111") is False       # the stale claim records nothing
            assert await outbox.mark_sent(second, "222") is True
            assert await outbox.claim(10) == []
            clock.advance(outbox.lease_seconds + 1)
            assert await outbox.claim(10) == []                       # done rows are never claimed
            assert await _deliveries(g, key) == ["sent"]


async def test_departed_or_unbound_before_sending_is_not_sent(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(), drop=False) as g:
            key, app_id = await _tenant(g, sim, logins=("alice", "bob", "carol"))
            await g.gw.delivery.stop()
            await _put(g, key, approvers=("alice", "bob", "carol"))
            metrics = (await g.request("GET", "/metrics")).text
            assert 'gateway_outbox_depth{tenant="acme"} 3.0' in metrics
            assert (await g.request("POST", "/api/v1/acme/accounts/alice/depart", token=key)).status == 200
            assert (await g.request("POST", "/api/v1/acme/accounts/bob/unbind", token=key)).status == 200
        async with env.gateway(wechat=sim.wechat()) as g:
            assert await _final(g, key) == ["unbound", "unbound", "sent"]
            assert [s["touser"] for s in await sim.client.sent(app_id)] == ["o_acme_carol"]


async def test_one_tenants_burst_does_not_starve_another(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(), delivery={"tenant_rate_per_second": 10.0}) as g:
            key, app_id = await _tenant(g, sim, logins=("alice", "bob", "carol", "dave"))
            beta_key, beta_app = await _tenant(g, sim, "beta")
            for i in range(10):   # 40 notifications: four seconds at 10 per second
                await _put(g, key, f"PO-{i}", approvers=("alice", "bob", "carol", "dave"))
            await _put(g, beta_key, slug="beta")
            assert await _final(g, beta_key, slug="beta") == ["sent"]
            acme_sent = len(await sim.client.sent(app_id))
            assert acme_sent < 40, acme_sent      # beta did not wait for acme's burst
            await wait_for(lambda: _count(sim, app_id, 40), timeout=15)
            times = sorted(s["time"] for s in await sim.client.sent(app_id))
            assert times[-1] - times[0] >= 3.0    # paced at about 10 per second


async def _count(sim, app_id, n):
    return len(await sim.client.sent(app_id)) >= n


@pytest.mark.mysql_only
async def test_claim_queries_use_their_index_without_filesort(env):
    if not env.is_mysql:
        pytest.skip("MariaDB only")
    async with env.gateway() as g:
        storage = g.gw.storage
        for sql in (claim_sql(storage, 50), webhook_claim_sql(storage, 20)):
            plan = await storage.fetchall("EXPLAIN " + sql.replace(" FOR UPDATE SKIP LOCKED", ""), (0.0,))
            assert len(plan) == 1, plan
            assert plan[0]["key"] in ("outbox_due", "webhook_due"), plan
            assert "filesort" not in (plan[0]["Extra"] or "").lower(), plan
        # With the lock clause, claims held open at the same time take disjoint rows.
        await g.gw.delivery.stop()
        now = g.gw.clock.now()
        await storage.execute("INSERT INTO outbox (tenant_id, recipient_id, state, next_at, attempts, paced,"
                              " created_at, updated_at) VALUES " + ", ".join(
                                  f"(1, {i}, 'queued', {now - 100 + i}, 0, 0, {now}, {now})" for i in range(1, 41)))
        release = asyncio.Event()
        taken: list[list[int]] = []

        async def claim_and_hold() -> None:
            async with storage.transaction() as tx:
                rows = await tx.fetchall(claim_sql(storage, 15), (now,))
                taken.append([r["id"] for r in rows])
                await release.wait()
        holders = []
        for _ in range(3):
            holders.append(asyncio.ensure_future(claim_and_hold()))
            await wait_for(lambda: len(taken) == len(holders))
        release.set()
        await asyncio.gather(*holders)
        ids = [i for batch in taken for i in batch]
        assert [len(batch) for batch in taken] == [15, 15, 10] and len(set(ids)) == 40


async def test_a_row_that_gave_up_is_sent_again_when_the_tenant_asks(env):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat()) as g:
            key, app_id = await _tenant(g, sim, logins=("alice", "bob"))
            await g.gw.delivery.stop()  # the row is made to give up by hand below
            await _put(g, key, approvers=("alice", "bob"))
            await g.gw.storage.execute("UPDATE outbox SET state = 'dead', attempts = 16")
            await g.gw.storage.execute("UPDATE document_recipients SET delivery = 'failed:gave_up'")
            again = await g.request("PUT", "/api/v1/acme/documents/PO-1", document(["alice", "bob"]), token=key)
            assert again.json["notifications"][0]["status"] == "already_notified"  # a PUT never re-sends by itself
            resend = lambda body: g.request("POST", "/api/v1/acme/documents/PO-1/resend", body, token=key)
            r = await resend({"login": "alice"})
            assert r.status == 200 and r.json["requeued"] == [{"login": "alice", "role": "approver",
                                                                "delivery": "queued"}]
            assert (await resend({"login": "alice"})).status == 409       # on its way now
            assert (await resend({"login": "nobody"})).status == 404
            assert (await resend({"login": "bob", "role": "cc"})).status == 404
            assert (await resend({"role": "approver"})).status == 400
            g.gw.delivery.start()
            await wait_for(lambda: sim.state.call_count("cgi-bin/message/template/send") == 1)
            assert await _deliveries(g, key) == ["sent", "failed:gave_up"]
            await g.request("POST", "/api/v1/acme/documents/PO-1/close", {"status": "approved"}, token=key)
            assert (await resend({"login": "bob"})).status == 409         # closed
