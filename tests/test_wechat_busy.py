"""Recovery without thundering: while WeChat answers -1 a tenant's sends are held behind a probe
every few seconds (WeChat is not hit by every row's retries, and the log gets one line), and once it
answers again the whole backlog goes out within seconds, not at each row's backoff."""
from __future__ import annotations

import asyncio
import logging
import time

from harness import document, wait_for
from test_outbox import SEND, _tenant
from wechat_env import Simulator

LOGINS = tuple(f"u{i:02d}" for i in range(16))
FAULT_SECONDS = 9.0


async def test_a_busy_wechat_is_probed_and_the_backlog_leaves_once_it_answers(env, caplog):
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(timeout=2.0)) as g:
            key, app_id = await _tenant(g, sim, logins=LOGINS)
            await sim.client.inject_fault(SEND, -1, count=1_000_000, app_id=app_id)
            with caplog.at_level(logging.WARNING):
                r = await g.request("PUT", "/api/v1/acme/documents/D1", document(list(LOGINS)), token=key)
                assert r.status == 201
                started = time.monotonic()
                await asyncio.sleep(FAULT_SECONDS / 2)
                calls_midway = sim.state.call_count(SEND)
                await asyncio.sleep(FAULT_SECONDS / 2)
                calls_late = sim.state.call_count(SEND) - calls_midway
                await sim.client.clear_faults()
                cleared = time.monotonic()

                async def all_sent():
                    r = await g.request("GET", "/api/v1/acme/documents/D1", token=key)
                    return all(x["delivery"] == "sent" for x in r.json["recipients"])
                await wait_for(all_sent, timeout=30, every=0.1)
                recovered = time.monotonic() - cleared
            # In the second half of the fault only probes reach WeChat (each with its in-call retries),
            # where every row's own retries would be dozens of calls.
            assert calls_late <= 12, (calls_midway, calls_late)
            assert recovered < 8.0, recovered  # the probe is at most 5 s away, then the paced backlog
            rows = await g.gw.storage.fetchall("SELECT attempts FROM outbox")
            assert max(r["attempts"] for r in rows) <= 4, rows  # held rows were not counted as attempts
            wechat_lines = [r.getMessage() for r in caplog.records if "cgi-bin/message/template/send" in r.getMessage()]
            assert len(wechat_lines) <= FAULT_SECONDS / 10 + 2, wechat_lines
            assert time.monotonic() - started < 40
