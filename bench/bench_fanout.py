"""Notification fan-out: 50 documents PUT through the tenant API, each naming the same 20 bound
accounts as approvers (1,000 template sends through the outbox), timed until the WeChat
simulator has accepted all 1,000 sends. Baseline, in the same run: the same 1,000 sends posted
straight to the simulator's /cgi-bin/message/template/send (same body shape, access token
fetched beforehand) with the concurrency the gateway's sender allows (its WeChat HTTP client's
max_clients and the outbox pipeline's max_inflight, whichever is smaller).

Two gateway timings per scenario, each as a ratio to the bare calls: the outbox drain (the
outbox workers are held while the 50 PUTs are answered, then released: 1,000 queued rows to
1,000 accepted sends, the outbox's own overhead) and end to end (from the first PUT, the
documents API and the outbox working together). Two scenarios: the simulator answering at
once, and with 50 ms of latency on the send endpoint.

The per-tenant pacing ([delivery] tenant_rate_per_second, 20/s by default, which would make
1,000 sends take 50 s by design) is lifted so the outbox itself is measured; password hashing is
lowered to n=2^10 for the 20 sign-ins of the set-up, which this benchmark does not time."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlencode

import tornado.httpclient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OPERATOR, load, running_gateway  # noqa: E402
from bench.phones import (SEND_ENDPOINT, Api, Simulator, create_tenant, document, sign_in,  # noqa: E402
                          tenant_body)
from gateway.wechat.template_data import render_template_data  # noqa: E402

SLUG, BARE_SLUG = "bench-fanout", "bench-bare"
DOCS = int(os.environ.get("BENCH_FANOUT_DOCS", "500"))  # x 20 approvers = 10,000 sends
APPROVERS = 20
# The business system's parallel PUTs (a PUT answered 503 is retried and counted below).
PUT_CONCURRENCY = int(os.environ.get("BENCH_FANOUT_PUT_CONCURRENCY", "4"))
# Simulator latency on the send endpoint, seconds.
SCENARIOS = tuple(float(v) for v in os.environ.get("BENCH_FANOUT_LATENCIES", "0.020").split(","))
REPEATS = int(os.environ.get("BENCH_FANOUT_ROUNDS", "3"))  # pairs per scenario; ratios are their medians
PUT_ATTEMPTS = 5             # a PUT answered 503 (a database deadlock) is sent again, as a client would
DEADLINE = 120.0             # a scenario that has not finished by then fails the benchmark


class BenchFailure(Exception):
    """The gateway did not do what the benchmark needs (the message says what); exit 1."""


async def until(predicate: Callable[[], Awaitable[bool]], every: float, what: str) -> float:
    """Poll `predicate()` until true; returns the perf_counter() at which it was seen true."""
    deadline = time.perf_counter() + DEADLINE
    while not await predicate():
        if time.perf_counter() > deadline:
            raise BenchFailure(f"{what}: not done within {DEADLINE:.0f} s")
        await asyncio.sleep(every)
    return time.perf_counter()


class BareSender:
    """Posts template sends straight to the simulator, as another app with the same 20 users."""

    def __init__(self, sim: Simulator, body: dict[str, Any], openids: list[str], concurrency: int,
                 public_url: str) -> None:
        self.sim, self.body, self.openids, self.concurrency = sim, body, openids, concurrency
        self.public_url = public_url
        self.http = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=concurrency)
        self.token = ""
        self.sent = 0

    async def fetch_token(self) -> None:
        wechat = self.body["wechat"]
        query = urlencode({"grant_type": "client_credential", "appid": wechat["app_id"],
                           "secret": wechat["app_secret"]})
        response = await self.http.fetch(f"{self.sim.url}/cgi-bin/token?{query}")
        self.token = json.loads(response.body)["access_token"]

    def request_body(self, doc_id: str, openid: str) -> bytes:
        """What TemplateSender._send posts: rendered data, the entry URL, a client_msg_id."""
        template = self.body["templates"]["approver"]
        values = {key: str(value) for key, value in document(doc_id, []).items() if isinstance(value, str)}
        data = render_template_data(dict(template["data"]), {"doc_id": doc_id, **values})
        self.sent += 1
        return json.dumps({"touser": openid, "template_id": template["template_id"],
                           "url": f"{self.public_url}/wx/{BARE_SLUG}/entry?next=doc/{quote(doc_id, safe='')}",
                           "client_msg_id": f"bare{self.sent:030d}", "data": data}, ensure_ascii=False).encode()

    async def send_all(self, prefix: str, docs: int) -> float:
        """docs × openids sends, `concurrency` at a time; returns the wall time."""
        bodies = [self.request_body(f"{prefix}-{d}", openid) for d in range(docs) for openid in self.openids]
        url = f"{self.sim.url}/{SEND_ENDPOINT}?access_token={self.token}"

        async def send(i: int) -> None:
            response = await self.http.fetch(url, method="POST", body=bodies[i], request_timeout=30,
                                             headers={"Content-Type": "application/json; charset=utf-8"})
            assert json.loads(response.body)["errcode"] == 0, response.body

        started = time.perf_counter()
        await load(send, len(bodies), self.concurrency)
        return time.perf_counter() - started

    def close(self) -> None:
        self.http.close()


async def main() -> None:
    # A 503 answered to a PUT is retried, counted and reported in the results instead of logged.
    logging.getLogger("tornado.access").setLevel(logging.CRITICAL)
    logging.getLogger("gateway.http").setLevel(logging.CRITICAL)
    sim = await Simulator().start()
    try:
        async with running_gateway(wechat=sim.wechat(), delivery={"tenant_rate_per_second": 1_000_000.0},
                                   security={"password_hash_n": 2**10}) as (gw, base):
            api = Api(base, max_clients=APPROVERS + PUT_CONCURRENCY)
            body = tenant_body(SLUG)
            key = await create_tenant(api, OPERATOR, body)
            app_id = await sim.add_app(body)
            logins = [f"user{i:02d}" for i in range(APPROVERS)]
            await asyncio.gather(*(sign_in(api, sim.client, app_id, SLUG, key, login) for login in logins))

            pipelines = gw.delivery._senders
            concurrency = min(getattr(gw._wechat_client, "max_clients", 100), pipelines[0].max_inflight)
            bare_body = tenant_body(BARE_SLUG)
            bare_app = await sim.add_app(bare_body)
            for login in logins:
                await sim.client.add_user(bare_app, f"o_{login}", subscribed=True)
            bare = BareSender(sim, bare_body, [f"o_{login}" for login in logins], concurrency, gw.public_url)
            await bare.fetch_token()

            retried: dict[str, int] = {}

            async def outbox_done() -> int:
                return int(await gw.storage.fetchval("SELECT COUNT(*) AS n FROM outbox WHERE state = 'done'"))

            async def held_claim(limit: int) -> list[Any]:
                return []

            async def through_gateway(prefix: str, docs: int, hold: bool) -> tuple[float, float, float]:
                """(PUTs answered, all sends accepted, all sends recorded), in seconds. Without `hold`
                timed from the first PUT (documents API and outbox together); with `hold` the outbox
                workers claim nothing until every PUT is answered, and the clock starts when they are
                released: the drain of 1,000 queued rows alone."""
                accepted_before, done_before = sim.accepted(), await outbox_done()
                app_before = sim.accepted(app_id)
                expected = docs * APPROVERS

                async def put(i: int) -> None:
                    for attempt in range(1, PUT_ATTEMPTS + 1):
                        reply = await api.request("PUT", f"/api/v1/{SLUG}/documents/{prefix}-{i}",
                                                  document(f"{prefix}-{i}", logins), token=key)
                        if reply.status != 503 or attempt == PUT_ATTEMPTS:
                            break
                        retried[prefix] = retried.get(prefix, 0) + 1  # as a business system would: retry
                        await asyncio.sleep(0.05 * attempt)
                    if reply.status != 201:
                        raise BenchFailure(f"PUT {prefix}-{i}: HTTP {reply.status} after {PUT_ATTEMPTS} tries"
                                         f" ({retried.get(prefix, 0)} PUTs retried so far): {reply.body!r}")

                claims = [pipeline.claim for pipeline in pipelines]
                if hold:
                    for pipeline in pipelines:
                        pipeline.claim = held_claim
                started = time.perf_counter()
                try:
                    await load(put, docs, PUT_CONCURRENCY)
                finally:
                    for pipeline, claim in zip(pipelines, claims):
                        pipeline.claim = claim
                puts = time.perf_counter() - started
                if hold:
                    assert sim.accepted() == accepted_before
                    started = time.perf_counter()
                    gw.delivery.wake()

                async def all_accepted() -> bool:  # the simulator's state: no HTTP, no database
                    return sim.accepted() - accepted_before >= expected

                async def all_recorded() -> bool:
                    return await outbox_done() - done_before >= expected

                accepted = await until(all_accepted, 0.002, f"{prefix}: sends accepted")
                done = await until(all_recorded, 0.01, f"{prefix}: sends recorded")
                assert sim.accepted(app_id) - app_before == expected  # all of them the gateway's
                return puts, accepted - started, done - started

            # Warm-up (untimed): the gateway fetches its access token, both paths open connections.
            await through_gateway("warm", 1, hold=False)
            await bare.send_all("warm", 1)

            total = DOCS * APPROVERS
            print(f"{DOCS} documents x {APPROVERS} approvers = {total} template sends;"
                  f" bare calls {concurrency} at a time (the gateway's sender limit), PUTs {PUT_CONCURRENCY} at a time;"
                  f" {gw.settings.storage.url.split(':', 1)[0]} + {gw.settings.cache.url.split(':', 1)[0]}")
            for latency in SCENARIOS:
                await sim.client.set_latency(SEND_ENDPOINT, latency)
                tag = f"L{int(latency * 1000)}"
                bare_walls: list[float] = []
                drains: list[tuple[float, float, float]] = []
                ends: list[tuple[float, float, float]] = []
                for rep in range(REPEATS):  # interleaved, the best of each kept: the machine is shared
                    bare_before = sim.accepted(bare_app)
                    bare_walls.append(await bare.send_all(f"{tag}r{rep}", DOCS))
                    assert sim.accepted(bare_app) - bare_before == total
                    drains.append(await through_gateway(f"{tag}r{rep}q", DOCS, hold=True))
                    ends.append(await through_gateway(f"{tag}r{rep}", DOCS, hold=False))
                bare_wall = statistics.median(bare_walls)
                drained = statistics.median(d[1] for d in drains)
                accepted = statistics.median(e[1] for e in ends)
                drain_ratio = statistics.median(b / d[1] for b, d in zip(bare_walls, drains))
                end_ratio = statistics.median(b / e[1] for b, e in zip(bare_walls, ends))
                print(f"simulator send latency {latency * 1000:.0f} ms (medians of {REPEATS} rounds)")
                print(f"  bare WeChat calls                {total} sends in {bare_wall:6.2f} s"
                      f" = {total / bare_wall:6.0f} sends/s  (baseline)")
                print(f"  outbox drain ({total} rows queued)  {total} sends in {drained:6.2f} s"
                      f" = {total / drained:6.0f} sends/s  {drain_ratio:5.2f}x the bare calls' rate")
                print(f"  end to end, from the first PUT   {total} sends in {accepted:6.2f} s"
                      f" = {total / accepted:6.0f} sends/s  {end_ratio:5.2f}x the bare calls' rate"
                      f"  (PUTs answered at {statistics.median(e[0] for e in ends):.2f} s)")
            if retried:
                print(f"note: {sum(retried.values())} PUT(s) answered 503 (storage conflict) and were sent again"
                      f" (up to {PUT_ATTEMPTS} tries each)")
            await sim.client.set_latency(SEND_ENDPOINT, 0)
            bare.close()
            api.close()
    finally:
        sim.stop()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BenchFailure as failure:
        sys.exit(f"bench_fanout failed: {failure}")
