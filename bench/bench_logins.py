"""Logins never block the loop: with production scrypt parameters (n=2^17, hashed in the
gateway's bounded executor), event-loop lag (a ticker sleeping 10 ms, how late it wakes) and
GET /healthz latency (a paced stream) during 20 concurrent POST /wx/{slug}/api/login attempts,
as ratios to the same probes at idle measured in the same run; plus logins per second.

Each phone first walks entry → WeChat OAuth (the simulator) → back, which leaves the signed
openid cookie the login endpoint requires; then it posts wrong passwords (each still costs one
full scrypt verify). The tenant allows 100 failures per account over 5 accounts and the
per-IP limit ([security] ip_login_failures) is raised, so no attempt is refused before hashing."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable

import tornado.httpclient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OPERATOR, running_gateway  # noqa: E402
from bench.phones import Api, Phone, Simulator, create_tenant, put_account, tenant_body  # noqa: E402
from gateway.accounts.passwords import PRODUCTION_PARAMS  # noqa: E402

SLUG = "bench-logins"
TICK = 0.010                # the ticker's sleep
HEALTHZ_GAP = 0.010         # pause between two /healthz requests of the stream
IDLE_SECONDS = 5.0          # length of the idle baseline
PHONES = 20                 # concurrent login attempts
ACCOUNTS = 5                # attempts spread over these, 100 failures allowed each
ATTEMPTS_PER_PHONE = 3      # 60 logins in all


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * fraction) - 1))]


@dataclass
class Probes:
    """The ticker and the /healthz stream, both in the gateway's process and event loop."""
    base_url: str
    lags: list[float] = field(default_factory=list)
    healthz: list[float] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _tick(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags.append(time.perf_counter() - started - TICK)

    async def _healthz(self) -> None:
        http = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=4)
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                response = await http.fetch(f"{self.base_url}/healthz", request_timeout=60)
                assert response.code == 200
                self.healthz.append(time.perf_counter() - started)
                await asyncio.sleep(HEALTHZ_GAP)
        finally:
            http.close()

    async def run_while(self, work: Awaitable[object]) -> None:
        """Probe until `work` is done."""
        probes = [asyncio.ensure_future(self._tick()), asyncio.ensure_future(self._healthz())]
        try:
            await work
        finally:
            self._stop.set()
            await asyncio.gather(*probes)

    def line(self, name: str, idle: "Probes | None" = None) -> str:
        lag_med, lag_p99 = statistics.median(self.lags), percentile(self.lags, 0.99)
        hz_med, hz_p99 = statistics.median(self.healthz), percentile(self.healthz, 0.99)
        text = (f"{name:30s} loop lag median {lag_med * 1000:6.2f} ms  p99 {lag_p99 * 1000:6.2f} ms"
                f"  | /healthz median {hz_med * 1000:6.2f} ms  p99 {hz_p99 * 1000:6.2f} ms"
                f"  ({len(self.lags)} ticks, {len(self.healthz)} requests)")
        if idle is None:
            return text + "  (baseline)"
        ratios = (lag_med / statistics.median(idle.lags), lag_p99 / percentile(idle.lags, 0.99),
                  hz_med / statistics.median(idle.healthz), hz_p99 / percentile(idle.healthz, 0.99))
        return (text + "\n" + " " * 31 + "vs idle: lag median {:.2f}x  p99 {:.2f}x"
                "  | /healthz median {:.2f}x  p99 {:.2f}x".format(*ratios))


def one_hash_seconds() -> float:
    """One production scrypt run on this thread: what a login would stall the loop for if hashed on it."""
    p = PRODUCTION_PARAMS
    started = time.perf_counter()
    hashlib.scrypt(b"x" * 20, salt=os.urandom(16), n=p.n, r=p.r, p=p.p, maxmem=p.maxmem(), dklen=32)
    return time.perf_counter() - started


async def main() -> None:
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # every attempt answers 401 by design
    sim = await Simulator().start()
    try:
        # password_hash_n is left at its default (2^17); only the per-IP failure limit is raised.
        async with running_gateway(wechat=sim.wechat(), security={"ip_login_failures": 1_000_000}) as (gw, base):
            assert gw.hasher.params == PRODUCTION_PARAMS, gw.hasher.params
            api = Api(base, max_clients=PHONES + 4)
            body = tenant_body(SLUG, policy={"max_login_failures": 100, "lockout_minutes": 15})
            key = await create_tenant(api, OPERATOR, body)
            app_id = await sim.add_app(body)
            logins = [f"user{i}" for i in range(ACCOUNTS)]
            for login in logins:
                await put_account(api, SLUG, key, login)
            phones = [Phone(api, SLUG) for _ in range(PHONES)]
            await asyncio.gather(*(phone.oauth(sim.client, app_id, f"o_phone{i}") for i, phone in enumerate(phones)))
            warm = await phones[0].login(logins[0], "wrong password 0")
            assert warm.status == 401, warm.body

            print(f"scrypt n=2^{PRODUCTION_PARAMS.n.bit_length() - 1} r={PRODUCTION_PARAMS.r}: one hash takes"
                  f" {one_hash_seconds() * 1000:.0f} ms on this thread (a login hashed on the loop would stall it"
                  f" that long); {PHONES} phones, {ACCOUNTS} accounts, {os.cpu_count()} CPUs")
            idle = Probes(base)
            await idle.run_while(asyncio.sleep(IDLE_SECONDS))
            print(idle.line("idle"))

            statuses: Counter[int] = Counter()
            latencies: list[float] = []

            async def attempts(i: int, phone: Phone) -> None:
                for n in range(ATTEMPTS_PER_PHONE):
                    started = time.perf_counter()
                    reply = await phone.login(logins[(i + n) % ACCOUNTS], f"wrong password {i}-{n}")
                    latencies.append(time.perf_counter() - started)
                    statuses[reply.status] += 1

            busy = Probes(base)
            started = time.perf_counter()
            await busy.run_while(asyncio.gather(*(attempts(i, phone) for i, phone in enumerate(phones))))
            wall = time.perf_counter() - started
            print(busy.line(f"during {PHONES} concurrent logins", idle))
            total = sum(statuses.values())
            answers = ", ".join(f"{count}x HTTP {status}" for status, count in sorted(statuses.items()))
            print(f"{'logins':30s} {total} in {wall:.1f} s = {total / wall:.1f} logins/s"
                  f"  (login median {statistics.median(latencies):.2f} s, p99 {percentile(latencies, 0.99):.2f} s;"
                  f" {answers})")
            assert statuses == Counter({401: total}), statuses
            api.close()
    finally:
        sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
