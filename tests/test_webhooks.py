"""Webhook delivery: Standard Webhooks signatures checked by the reference library, retries with
backoff (Retry-After honoured), no redirects, private targets refused, 24 h then dead, the feed."""
from __future__ import annotations

import asyncio
import json

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.platform.clock import Clock
from harness import Receiver, wait_for

ALLOW = {"allow_private_webhooks": True}
DECISION = {"doc_id": "PO-1", "login": "alice", "decision": "approve", "comment": "", "decided_at": None}


async def _emit(g, slug: str = "acme", n: int = 1) -> list[str]:
    tenant = g.gw.registry.get(slug)
    ids = [await g.gw.events.emit(tenant, "document.decision", {**DECISION, "doc_id": f"PO-{i}"}) for i in range(n)]
    g.gw.delivery.wake_webhooks()
    return ids


async def _delivery(g, event: str) -> dict:
    row = await g.gw.storage.fetchone("SELECT * FROM webhook_deliveries WHERE event_id = ?",
                                      (int(event.removeprefix("evt_")),))
    assert row is not None
    return row


async def test_signed_as_standard_webhooks_and_verified_by_reference_library(env):
    async with Receiver() as receiver:
        async with env.gateway(security=ALLOW) as g:
            created = await g.create_tenant("acme", webapi_url=receiver.url())
            [event] = await _emit(g)
            await wait_for(lambda: len(receiver.requests) == 1)
            request = receiver.requests[0]
            headers = request["headers"]
            assert headers["Webhook-Id"] == event
            payload = Webhook(created["webhook_secret"]).verify(request["body"], headers)
            assert payload["id"] == event and payload["type"] == "document.decision"
            assert payload["tenant"] == "acme" and payload["data"]["doc_id"] == "PO-0"
            assert payload["created_at"].endswith("+00:00")
            # The same envelope is in the pull feed.
            feed = await g.request("GET", "/api/v1/acme/events", token=created["api_key"])
            assert feed.status == 200 and feed.json["items"] == [payload] and feed.json["next_after"] is None
            # A tampered body or a wrong secret does not verify.
            for secret, body in ((created["webhook_secret"], request["body"].replace(b"approve", b"reject")),
                                 ("whsec_" + "A" * 43 + "=", request["body"])):
                try:
                    Webhook(secret).verify(body, headers)
                except WebhookVerificationError:
                    pass
                else:
                    raise AssertionError("verification should fail")
            await wait_for(lambda: _state(g, event, "delivered"))


async def _state(g, event: str, state: str) -> bool:
    return (await _delivery(g, event))["state"] == state


async def test_retried_with_same_id_first_retry_within_5s(env):
    async with Receiver() as receiver:
        receiver.script = [(500, {}), (502, {})]
        async with env.gateway(security=ALLOW) as g:
            created = await g.create_tenant("acme", webapi_url=receiver.url())
            [event] = await _emit(g)
            await wait_for(lambda: len(receiver.requests) >= 2, timeout=15)
            gap = receiver.requests[1]["at"] - receiver.requests[0]["at"]
            assert gap <= 5.5, gap
            row = await _delivery(g, event)
            assert row["attempts"] == 2 and row["state"] == "pending" and "HTTP 502" in row["last_error"]
            # Everything about the message is the same on a retry but the attempt's timestamp.
            assert {r["headers"]["Webhook-Id"] for r in receiver.requests} == {event}
            assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
            for r in receiver.requests:
                Webhook(created["webhook_secret"]).verify(r["body"], r["headers"])


async def test_retry_after_honoured_and_redirect_not_followed(env):
    clock = Clock()
    async with Receiver() as receiver:
        receiver.script = [(429, {"Retry-After": "1800"}), (302, {"Location": "/elsewhere"})]
        async with env.gateway(security=ALLOW, clock=clock) as g:
            await g.create_tenant("acme", webapi_url=receiver.url())
            [event] = await _emit(g)
            await wait_for(lambda: len(receiver.requests) == 1)
            row = await wait_for(lambda: _pending_after_attempt(g, event, 1))
            assert 1790 <= row["next_at"] - clock.now() <= 1800
            clock.advance(1801)
            g.gw.delivery.wake_webhooks()
            row = await wait_for(lambda: _pending_after_attempt(g, event, 2))
            assert row["last_error"] == "HTTP 302"
            assert [r["path"] for r in receiver.requests] == ["hook", "hook"]  # /elsewhere never requested


async def _pending_after_attempt(g, event: str, attempts: int) -> dict | None:
    row = await _delivery(g, event)
    return row if row["attempts"] == attempts and row["lease_until"] == 0 and row["last_error"] else None


async def test_dead_after_24_hours_of_failures(env):
    clock = Clock()
    async with Receiver(default=500) as receiver:
        async with env.gateway(security=ALLOW, clock=clock) as g:
            await g.create_tenant("acme", webapi_url=receiver.url())
            [event] = await _emit(g)
            await wait_for(lambda: _pending_after_attempt(g, event, 1))
            clock.advance(86400)
            g.gw.delivery.wake_webhooks()
            await wait_for(lambda: _state(g, event, "dead"))
            assert len(receiver.requests) == 2


async def test_private_targets_refused_at_delivery(env):
    """With allow_private_webhooks false, a loopback literal and a name that resolves to
    loopback at delivery time both fail without any connection being made."""
    receiver = await Receiver().start()
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo

    async def fake_dns(host, port, *args, **kwargs):  # hooks.acme.example "rebinds" to loopback
        return await real_getaddrinfo("127.0.0.1" if host == "hooks.acme.example" else host, port, *args, **kwargs)

    loop.getaddrinfo = fake_dns  # type: ignore[method-assign]
    try:
        # A tenant registered while private targets were allowed, delivered by a gateway that forbids them.
        async with env.gateway(security=ALLOW, drop=False) as g:
            await g.create_tenant("acme", webapi_url=receiver.url())
            await g.create_tenant("beta", webapi_url=f"http://hooks.acme.example:{receiver.port}/hook")
            await g.gw.delivery.stop()
            [literal] = await _emit(g, "acme")
            [named] = await _emit(g, "beta")
        async with env.gateway(security={"allow_private_webhooks": False}, drop=False) as g:
            for event in (literal, named):
                row = await wait_for(lambda: _pending_after_attempt(g, event, 1))
                assert "private or loopback" in row["last_error"], row["last_error"]
            assert receiver.requests == []
        # The same name with private targets allowed reaches the receiver at the checked address.
        async with env.gateway(security=ALLOW) as g:
            g.gw.delivery.wake_webhooks()
            await wait_for(lambda: any(r["headers"]["Host"].startswith("hooks.acme.example")
                                       for r in receiver.requests), timeout=15)
    finally:
        loop.getaddrinfo = real_getaddrinfo  # type: ignore[method-assign]
        receiver.stop()


async def test_pending_deliveries_survive_a_restart(env):
    async with Receiver() as receiver:
        async with env.gateway(security=ALLOW, drop=False) as g:
            await g.create_tenant("acme", webapi_url=receiver.url())
            await g.gw.delivery.stop()  # this process stops before delivering anything
            events = await _emit(g, n=5)
        assert receiver.requests == []
        async with env.gateway(security=ALLOW) as g:
            await wait_for(lambda: len(receiver.requests) == 5)
            assert sorted(receiver.ids()) == sorted(events)
            assert {b["id"] for b in receiver.bodies()} == set(events)


async def test_events_feed_pages(env):
    async with env.gateway() as g:
        created = await g.create_tenant("acme")
        events = await _emit(g, n=5)
        key = created["api_key"]
        first = await g.request("GET", "/api/v1/acme/events?limit=2", token=key)
        assert [e["id"] for e in first.json["items"]] == events[:2] and first.json["next_after"] == events[1]
        rest = await g.request("GET", f"/api/v1/acme/events?after={events[1]}&limit=10", token=key)
        assert [e["id"] for e in rest.json["items"]] == events[2:] and rest.json["next_after"] is None
        other = await g.create_tenant("beta")
        assert (await g.request("GET", "/api/v1/acme/events", token=other["api_key"])).status == 403
        assert (await g.request("GET", "/api/v1/acme/events")).status == 401
        assert json.loads((await g.request("GET", "/api/v1/beta/events", token=other["api_key"])).body)["items"] == []
