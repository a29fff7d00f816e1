"""Token centre against the WeChat simulator over loopback HTTP: one fetch for many callers,
refresh ahead of expiry, 40001 handling without loops, stable_token, 40164/40125, retries, logs."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from gateway.wechat.api.errors import (BadCredentials, IpNotWhitelisted, NetworkError, Retryable,
                                       TokenInvalid)
from gateway.wechat.api.ticket import fetch_jsapi_ticket
from harness import metric as gateway_metric, tenant_body
from wechat_env import WeChatEnv, wechat_env


def ticket_call(w: WeChatEnv, seen: list[str] | None = None) -> Any:
    """A WeChat call needing the access token (getticket), remembering each token it was given."""
    async def fn(token: str) -> str:
        if seen is not None:
            seen.append(token)
        return (await fetch_jsapi_ticket(w.g.gw.wechat_http, token)).ticket
    return fn


def metric(w: WeChatEnv, kind: str, result: str) -> float:
    return gateway_metric(w.g, "gateway_token_fetches_total", tenant="acme", kind=kind, result=result)


async def test_one_fetch_serves_200_concurrent_callers(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        started = time.perf_counter()
        tokens = await asyncio.gather(*(centre.access_token(w.tenant) for _ in range(200)))
        elapsed = time.perf_counter() - started
        assert len(set(tokens)) == 1
        assert w.count("cgi-bin/token") == 1
        assert tokens[0] in w.state.tokens.tokens
        assert metric(w, "access_token", "ok") == 1
        tickets = await asyncio.gather(*(centre.jsapi_ticket(w.tenant) for _ in range(200)))
        assert set(tickets) == {w.ticket_issued()}
        assert w.count("cgi-bin/ticket/getticket") == 1 and w.count("cgi-bin/token") == 1
        assert elapsed < 5


async def test_token_reused_until_due(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        first = await centre.access_token(w.tenant)
        w.advance(7200 - 400)  # 400 s left: not yet due
        assert await centre.access_token(w.tenant) == first
        await asyncio.sleep(0.1)
        assert w.count("cgi-bin/token") == 1
        assert await centre.refresh(w.tenant, "access_token") is False


async def test_due_token_is_served_while_refreshed_in_background(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        first = await centre.access_token(w.tenant)
        w.advance(7200 - 200)  # 200 s left: due, still valid
        served = await asyncio.gather(*(centre.access_token(w.tenant) for _ in range(50)))
        assert set(served) == {first}  # nobody waited for the refresh
        for _ in range(100):
            if w.count("cgi-bin/token") == 2 and await centre.access_token(w.tenant) != first:
                break
            await asyncio.sleep(0.02)
        second = await centre.access_token(w.tenant)
        assert second != first and w.count("cgi-bin/token") == 2
        await w.g.gw.tokens.call(w.tenant, ticket_call(w))  # the new token works at WeChat
        assert w.count("cgi-bin/token") == 2


async def test_periodic_refresh_renews_recently_used_tokens_near_expiry(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        first = await centre.access_token(w.tenant)
        ticket = await centre.jsapi_ticket(w.tenant)
        assert await centre.refresh_due() == 0
        w.advance(7200 - 500)  # within 10 minutes of expiry, not yet due for callers
        assert await centre.refresh_due() == 2
        assert w.count("cgi-bin/token") == 2 and w.count("cgi-bin/ticket/getticket") == 2
        assert await centre.access_token(w.tenant) != first
        # The simulator renews a ticket only in its last 5 minutes: asked earlier,
        # it answers the same one, which is fetched again on the next round.
        w.advance(300)
        assert await centre.refresh_due() == 1
        assert await centre.jsapi_ticket(w.tenant) != ticket
        assert w.count("cgi-bin/token") == 2 and w.count("cgi-bin/ticket/getticket") == 3


async def test_invalid_token_is_dropped_refetched_and_the_call_retried_once(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        first = await centre.access_token(w.tenant)
        await w.sim.invalidate_tokens(w.app_id)
        seen: list[str] = []
        ticket = await centre.call(w.tenant, ticket_call(w, seen))
        assert ticket == w.ticket_issued()
        assert seen[0] == first and len(seen) == 2 and seen[1] != first
        assert w.count("cgi-bin/token") == 2
        assert await centre.access_token(w.tenant) == seen[1]


async def test_a_second_consecutive_40001_is_raised_not_looped(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        await centre.access_token(w.tenant)
        await w.sim.inject_fault("cgi-bin/ticket/getticket", 40001, count=5)
        with pytest.raises(TokenInvalid):
            await centre.call(w.tenant, ticket_call(w))
        assert w.count("cgi-bin/token") == 2
        assert w.count("cgi-bin/ticket/getticket") == 2


async def test_many_callers_failing_on_one_token_cause_one_refetch(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        await centre.access_token(w.tenant)
        await w.sim.invalidate_tokens(w.app_id)
        results = await asyncio.gather(*(centre.call(w.tenant, ticket_call(w)) for _ in range(50)))
        assert len(set(results)) == 1
        assert w.count("cgi-bin/token") == 2


async def test_a_stale_failed_token_does_not_drop_its_replacement(env):
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        old = await centre.access_token(w.tenant)
        await centre.invalidate(w.tenant, old)
        new = await centre.access_token(w.tenant)
        assert new != old
        await centre.invalidate(w.tenant, old)  # a late report about the old token
        assert await centre.access_token(w.tenant) == new
        assert w.count("cgi-bin/token") == 2
        assert await centre.store.drop_if(centre.key(w.tenant, "access_token"), old) is False


async def test_ip_not_whitelisted_is_recorded_without_retry(env):
    async with wechat_env(env, app={"blocked_ip": "203.0.113.7"}) as w:
        centre = w.g.gw.tokens
        with pytest.raises(IpNotWhitelisted) as caught:
            await centre.access_token(w.tenant)
        assert caught.value.ip == "203.0.113.7"
        assert w.count("cgi-bin/token") == 1
        assert await w.g.gw.state.get(w.tenant.id, "ip_blocked") == "203.0.113.7"
        r = await w.g.admin("GET", "/admin/api/tenants/acme/checklist")
        steps = {s["id"]: s for s in r.json["steps"]}
        assert steps["ip_whitelist"]["ok"] is False and "203.0.113.7" in steps["ip_whitelist"]["detail"]
        assert steps["credentials"]["ok"] is False
        assert w.count("cgi-bin/token") == 2  # the checklist probed live, once

        await w.sim.add_app(w.app_id, blocked_ip=None)
        r = await w.g.admin("GET", "/admin/api/tenants/acme/checklist")
        steps = {s["id"]: s for s in r.json["steps"]}
        assert steps["ip_whitelist"]["ok"] is True and steps["credentials"]["ok"] is True
        assert await w.g.gw.state.get(w.tenant.id, "ip_blocked") is None
        assert await w.g.gw.state.get(w.tenant.id, "credentials_ok") is True


async def test_bad_app_secret_is_recorded(env):
    async with wechat_env(env, app={"secret": "another-secret"}) as w:
        with pytest.raises(BadCredentials) as caught:
            await w.g.gw.tokens.access_token(w.tenant)
        assert caught.value.errcode == 40125
        assert w.count("cgi-bin/token") == 1
        assert await w.g.gw.state.get(w.tenant.id, "bad_credentials") is True
        assert await w.g.gw.tokens.probe_credentials(w.tenant) is False
        r = await w.g.admin("GET", "/admin/api/tenants/acme/checklist")
        steps = {s["id"]: s for s in r.json["steps"]}
        assert steps["credentials"]["ok"] is False and "AppSecret" in steps["credentials"]["detail"]
        assert metric(w, "access_token", "40125") >= 1


async def test_system_busy_is_retried_with_backoff(env):
    async with wechat_env(env) as w:
        await w.sim.inject_fault("cgi-bin/token", -1, count=2)
        started = time.perf_counter()
        assert await w.g.gw.tokens.access_token(w.tenant)
        assert w.count("cgi-bin/token") == 3
        assert time.perf_counter() - started >= 0.2  # backed off: 0.1-0.3 s, then 0.2-0.6 s
        assert metric(w, "access_token", "-1") == 2 and metric(w, "access_token", "ok") == 1


async def test_persistent_system_busy_gives_up_after_three_attempts(env):
    async with wechat_env(env) as w:
        await w.sim.inject_fault("cgi-bin/token", -1, count=10)
        with pytest.raises(Retryable):
            await w.g.gw.tokens.access_token(w.tenant)
        assert w.count("cgi-bin/token") == 3


async def test_timeouts_are_bounded(env):
    async with wechat_env(env, wechat={"timeout": 0.3}) as w:
        await w.sim.set_latency("cgi-bin/token", 0.8)
        started = time.perf_counter()
        with pytest.raises(NetworkError):
            await w.g.gw.tokens.access_token(w.tenant)
        elapsed = time.perf_counter() - started
        assert 0.9 <= elapsed < 3.0
        await asyncio.sleep(1.0)  # the simulator counts a call when its delay ends
        assert w.count("cgi-bin/token") == 3
        assert await w.g.gw.tokens.probe_credentials(w.tenant) is None


async def test_stable_token_forces_refresh_only_after_confirmed_invalid(env):
    async with wechat_env(env, wechat={"token_api": "stable"}) as w:
        centre = w.g.gw.tokens
        first = await centre.access_token(w.tenant)
        await centre.invalidate(w.tenant, first)
        assert await centre.access_token(w.tenant) == first  # WeChat hands back the same stable token
        assert w.count("cgi-bin/stable_token") == 2 and w.count("cgi-bin/token") == 0

        def forced() -> int:
            limits = w.state.tokens._stable.get(w.app_id)
            return limits.forced_today if limits else 0

        # Revoked at WeChat: a plain stable_token call already returns a new one, no force needed.
        await w.sim.invalidate_tokens(w.app_id)
        seen: list[str] = []
        await centre.call(w.tenant, ticket_call(w, seen))
        assert seen[0] == first and seen[1] != first and forced() == 0

        # WeChat refuses a token that stable_token still returns: confirmed invalid, so force.
        await w.sim.inject_fault("cgi-bin/ticket/getticket", 40001, count=1)
        seen.clear()
        await centre.call(w.tenant, ticket_call(w, seen))
        assert len(seen) == 2 and seen[1] != seen[0] and forced() == 1

        # Within 30 s of the last forced refresh WeChat would refuse: no second force.
        await w.sim.inject_fault("cgi-bin/ticket/getticket", 40001, count=1)
        seen.clear()
        await centre.call(w.tenant, ticket_call(w, seen))
        assert forced() == 1 and seen[0] == seen[1]


async def test_no_token_ticket_or_secret_in_logs(env, caplog):
    caplog.set_level(logging.DEBUG)
    async with wechat_env(env) as w:
        centre = w.g.gw.tokens
        await centre.jsapi_ticket(w.tenant)
        await w.sim.invalidate_tokens(w.app_id)
        await centre.call(w.tenant, ticket_call(w))
        await w.sim.inject_fault("cgi-bin/token", -1, count=1)
        await w.sim.invalidate_tokens(w.app_id)
        await centre.call(w.tenant, ticket_call(w))
        await w.sim.add_app(w.app_id, blocked_ip="198.51.100.9")
        await w.sim.invalidate_tokens(w.app_id)
        with pytest.raises(IpNotWhitelisted):
            await centre.call(w.tenant, ticket_call(w))
        r = await w.g.request("GET", "/wx/acme/api/jssdk?url=" + "http%3A%2F%2F127.0.0.1%3A8080%2Fwx%2Facme%2Finbox")
        assert r.status == 200
        secrets = list(w.state.tokens.tokens) + [t.value for t in w.state.tokens.tickets.values()]
        secrets.append(tenant_body("acme")["wechat"]["app_secret"])
        assert len(secrets) >= 4
    logged = "\n".join(r.getMessage() + " " + str(r.exc_info or "") + str(r.exc_text or "")
                       for r in caplog.records)
    assert "cgi-bin/token" in logged or "wechat" in logged  # the calls were logged, just not their secrets
    for secret in secrets:
        assert secret not in logged
