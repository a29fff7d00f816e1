"""Callback throughput measured from outside with wrk: distinct safe-mode text callbacks that each
get an encrypted keyword reply, 50 connections, the server on core 0 and wrk on core 1. Three
servers run side by side: (a) a bare Tornado hello-world handler, (b) a minimal Tornado handler on
wechatpy's WeChatCrypto (verify, decrypt, parse, reply, encrypt), (c) the gateway doing its whole
job, once with all traffic to one tenant and once spread over BENCH_SPREAD_TENANTS (1,000)
tenants; the gateway runs on uvloop as server.py does (with BENCH_COMPARE_LOOPS=1 also on
asyncio's own loop, to see what uvloop is worth). Each round measures all of them; ratios are
taken within a round, medians over rounds."""
from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
import time
import urllib.request
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline_servers import AES_KEY, APP_ID, KEYWORD, REPLY, TOKEN  # noqa: E402
from bench.common import OPERATOR, client  # noqa: E402
from bench.wrk import (WrkResult, free_port, median_ratio, run_wrk, start_server,  # noqa: E402
                       stop_server, write_requests)
from gateway.wechat.crypto import MessageCrypto, sha1_signature  # noqa: E402
from gateway.wechat.xmlmsg import build_message, parse_xml  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
SPREAD = int(os.environ.get("BENCH_SPREAD_TENANTS", "1000"))
ASYNCIO = os.environ.get("BENCH_COMPARE_LOOPS") == "1"  # also measure the gateway on asyncio's own loop
PER_FILE = 60_000  # more than the gateway answers in one run: every callback is a new message
ONE = "bench-one"
_ids = count(10**15)


def tenant_body(slug: str, app_id: str) -> dict:
    return {"slug": slug, "name": slug, "wechat": {
        "app_id": app_id, "app_secret": "benchsecret", "token": TOKEN, "original_id": "gh_bench",
        "encoding_aes_key": AES_KEY, "message_mode": "safe"}}


def spread_tenants() -> list[tuple[str, str]]:
    return [(f"spread-{i:04d}", f"wxbench{i:011d}") for i in range(SPREAD)]


def callbacks(targets: list[tuple[str, str]], n: int) -> list[tuple[str, bytes]]:
    """`n` distinct safe-mode text callbacks with the keyword, round-robin over (slug, app_id)."""
    cryptos = {slug: MessageCrypto(TOKEN, AES_KEY, app_id) for slug, app_id in targets}
    ts = str(int(time.time()))
    out = []
    for i in range(n):
        slug, _ = targets[i % len(targets)]
        msg_id = next(_ids)
        xml = build_message({"ToUserName": "gh_bench", "FromUserName": f"o_user{i % 500}", "CreateTime": int(ts),
                             "MsgType": "text", "Content": KEYWORD, "MsgId": msg_id})
        nonce = f"n{msg_id}"
        encrypt = cryptos[slug].encrypt(xml)
        query = {"signature": sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "encrypt_type": "aes", "msg_signature": cryptos[slug].msg_signature(ts, nonce, encrypt)}
        out.append((f"/wx/{slug}/callback?{urlencode(query)}",
                    build_message({"ToUserName": "gh_bench", "Encrypt": encrypt})))
    return out


def check_reply(base: str, slug: str, app_id: str) -> None:
    """One callback by hand: the answer must be the encrypted keyword reply."""
    path, body = callbacks([(slug, app_id)], 1)[0]
    with urllib.request.urlopen(urllib.request.Request(base + path, data=body, method="POST")) as response:
        outer = parse_xml(response.read())
    inner = MessageCrypto(TOKEN, AES_KEY, app_id).decrypt(outer["Encrypt"])
    assert parse_xml(inner)["Content"] == REPLY, "the reply is not the keyword reply"


async def set_up_gateway(base: str) -> None:
    http = client()
    headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/json"}
    rules = json.dumps({"rules": [{"match": "exact", "keyword": KEYWORD, "reply": REPLY}]})
    queue = [(ONE, APP_ID)] + spread_tenants()
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            slug, app_id = queue.pop()
            await http.fetch(f"{base}/admin/api/tenants", method="POST", headers=headers,
                             body=json.dumps(tenant_body(slug, app_id)))
            await http.fetch(f"{base}/admin/api/tenants/{slug}/replies", method="PUT", headers=headers, body=rules)
    await asyncio.gather(*(worker() for _ in range(10)))
    print(f"set-up: {SPREAD + 1} tenants created with keyword replies in {time.perf_counter() - started:.1f} s")
    http.close()


def line(name: str, results: list[WrkResult]) -> str:
    rates = " ".join(f"{r.rate:7.0f}" for r in results)
    return (f"{name:34s} {rates}  req/s   p99 {statistics.median(r.p99_ms for r in results):6.1f} ms"
            f"  (p50 {statistics.median(r.p50_ms for r in results):5.1f} ms)")


def main() -> int:
    ports = {name: free_port() for name in ("hello", "wechatpy", "gateway")}
    servers = {
        "hello": start_server(["bench/baseline_servers.py", "hello", str(ports["hello"])]),
        "wechatpy": start_server(["bench/baseline_servers.py", "wechatpy", str(ports["wechatpy"])]),
        "gateway": start_server(["bench/serve_gateway.py", str(ports["gateway"])]),
    }
    if ASYNCIO:  # the same gateway on asyncio's loop, on a database of its own
        ports["asyncio"] = free_port()
        servers["asyncio"] = start_server(["bench/serve_gateway.py", str(ports["asyncio"])],
                                          env={**os.environ, "BENCH_EVENT_LOOP": "asyncio"})
    base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    results: dict[str, list[WrkResult]] = {"hello": [], "wechatpy": [], "one": [], "spread": [], "asyncio": []}
    try:
        asyncio.run(set_up_gateway(base["gateway"]))
        if ASYNCIO:
            asyncio.run(set_up_gateway(base["asyncio"]))
        check_reply(base["wechatpy"], ONE, APP_ID)
        check_reply(base["gateway"], ONE, APP_ID)
        check_reply(base["gateway"], *spread_tenants()[-1]) if SPREAD else None
        plans = {"hello": ("hello", lambda: callbacks([(ONE, APP_ID)], 2000)),
                 "wechatpy": ("wechatpy", lambda: callbacks([(ONE, APP_ID)], 2000)),
                 "one": ("gateway", lambda: callbacks([(ONE, APP_ID)], PER_FILE)),
                 "spread": ("gateway", lambda: callbacks(spread_tenants() or [(ONE, APP_ID)], PER_FILE))}
        if ASYNCIO:
            plans["asyncio"] = ("asyncio", lambda: callbacks([(ONE, APP_ID)], PER_FILE))
        for name, (server, make) in plans.items():  # warm-up: JIT-free Python still fills caches and pools
            run_wrk(base[server], write_requests(make()), 1)
        for _ in range(ROUNDS):
            for name, (server, make) in plans.items():
                path = write_requests(make())  # timestamps fresh for each run
                try:
                    results[name].append(run_wrk(base[server], path, SECONDS))
                finally:
                    os.unlink(path)
    finally:
        for process in servers.values():
            stop_server(process)
    backend = (os.environ.get("GATEWAY_BENCH_STORAGE_URL", "sqlite").split(":", 1)[0] + " + "
               + os.environ.get("GATEWAY_BENCH_CACHE_URL", "memory").split(":", 1)[0])
    print(f"wrk -t1 -c50, {SECONDS:g} s per run, {ROUNDS} rounds, server on core 0, wrk on core 1; {backend}")
    print(line("(a) Tornado hello-world", results["hello"]))
    print(line("(b) Tornado + wechatpy WeChatCrypto", results["wechatpy"]))
    print(line("gateway (uvloop), one tenant", results["one"]))
    print(line(f"gateway (uvloop), {SPREAD} tenants", results["spread"]))
    print(f"gateway / hello-world      {median_ratio(results['one'], results['hello']):5.2f}x  (median of {ROUNDS} pairs)")
    print(f"gateway / wechatpy handler {median_ratio(results['one'], results['wechatpy']):5.2f}x")
    print(f"wechatpy / hello-world     {median_ratio(results['wechatpy'], results['hello']):5.2f}x")
    print(f"spread / one tenant        {median_ratio(results['spread'], results['one']):5.2f}x")
    if ASYNCIO:
        print(line("gateway on asyncio's loop", results["asyncio"]))
        print(f"uvloop / asyncio gateway   {median_ratio(results['one'], results['asyncio']):5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
