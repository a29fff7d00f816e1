"""Soak: one gateway process (its own OS process, the embedded default unless GATEWAY_BENCH_* name
MariaDB + Redis) under steady load for SOAK_SECONDS (600 by default): 20 callbacks/s from 50 WeChat
users and 10 template sends/s (a document with 10 approvers every second), the simulator answering.
Reports the gateway's resident memory after a 30 s warm-up and at the end, and their ratio; every
in-process cache of the gateway is bounded, so the ratio should stay near 1. Not run by run_all
(it takes ten minutes); run it directly: python bench/soak.py (SOAK_SECONDS=60 for a short one)"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.phones import Api, Simulator, create_tenant, document, sign_in, tenant_body  # noqa: E402
from gateway.wechat.crypto import sha1_signature  # noqa: E402
from gateway.wechat.xmlmsg import build_message  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARM_UP = min(30.0, SECONDS / 4)
OPERATOR = "op_soak_" + "x" * 26
APPROVERS = [f"a{i}" for i in range(10)]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main() -> None:
    sim = await Simulator().start()
    tmp = tempfile.mkdtemp(prefix="gw-soak-")
    port = free_port()
    env = {**os.environ, "GATEWAY_SERVER_VAR_DIR": f"{tmp}/var", "GATEWAY_SERVER_PORT": str(port),
           "GATEWAY_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "GATEWAY_STORAGE_URL": os.environ.get("GATEWAY_BENCH_STORAGE_URL", f"sqlite:///{tmp}/gw.db"),
           "GATEWAY_CACHE_URL": os.environ.get("GATEWAY_BENCH_CACHE_URL", "memory://"),
           "GATEWAY_WECHAT_API_BASE": sim.url, "GATEWAY_WECHAT_OAUTH_BASE": sim.url,
           "GATEWAY_SECURITY_OPERATOR_TOKEN": OPERATOR, "GATEWAY_SECURITY_PASSWORD_HASH_N": "1024",
           "GATEWAY_DELIVERY_TENANT_RATE_PER_SECOND": "50"}
    proc = subprocess.Popen([sys.executable, "server.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = Api(f"http://127.0.0.1:{port}")
    try:
        for _ in range(100):
            try:
                if (await api.request("GET", "/healthz")).status == 200:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
        body = tenant_body("soak")
        key = await create_tenant(api, OPERATOR, body)
        app_id = await sim.add_app(body)
        for login in APPROVERS:
            await sign_in(api, sim.client, app_id, "soak", key, login)
        token = body["wechat"]["token"]

        async def callbacks(stop: float) -> int:
            sent, i = 0, 0
            while time.monotonic() < stop:
                ts, nonce = str(int(time.time())), f"n{i}"
                xml = build_message({"ToUserName": "gh_soak01", "FromUserName": f"u{i % 50}", "CreateTime": int(ts),
                                     "MsgType": "text", "Content": "待办", "MsgId": 10**15 + i})
                query = {"signature": sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce}
                reply = await api.http.fetch(f"{api.base_url}/wx/soak/callback?{urlencode(query)}", method="POST",
                                             body=xml, raise_error=False)
                sent += reply.code == 200
                i += 1
                await asyncio.sleep(0.05)
            return sent

        async def documents(stop: float) -> int:
            n = 0
            while time.monotonic() < stop:
                reply = await api.request("PUT", f"/api/v1/soak/documents/S{n}", document(f"S{n}", APPROVERS), token=key)
                n += reply.status == 201
                await asyncio.sleep(1.0)
            return n

        started = time.monotonic()
        warm = asyncio.gather(callbacks(started + SECONDS), documents(started + SECONDS))
        await asyncio.sleep(WARM_UP)
        start_rss = rss_mib(proc.pid)
        samples = [start_rss]
        while not warm.done():  # one sample a minute: growth that levels off is a cache filling, not a leak
            await asyncio.wait([warm], timeout=60)
            samples.append(rss_mib(proc.pid))
        answered, docs = await warm
        end_rss = rss_mib(proc.pid)
        await asyncio.sleep(5)
        print(f"soak {SECONDS:.0f} s: {answered} callbacks answered, {docs} documents, "
              f"{sim.accepted(app_id)} template sends accepted")
        print(f"gateway RSS after {WARM_UP:.0f} s warm-up: {start_rss:.1f} MiB; at the end: {end_rss:.1f} MiB "
              f"({end_rss / start_rss:.2f}x)")
        print("RSS each minute (MiB): " + " ".join(f"{x:.1f}" for x in samples))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        api.close()
        sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
