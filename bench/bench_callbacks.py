"""Callback throughput: plain and safe-mode WeChat callbacks (verified, decrypted, deduped,
dispatched, reply encrypted) against GET /healthz on the same server as the baseline."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OPERATOR, client, load, running_gateway, summary  # noqa: E402
from gateway.wechat.crypto import MessageCrypto, sha1_signature  # noqa: E402
from gateway.wechat.xmlmsg import build_message  # noqa: E402

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOTAL, CONCURRENCY = 2000, 20


def tenant(slug: str, mode: str) -> dict:
    return {"slug": slug, "name": slug, "wechat": {
        "app_id": "wx" + (slug.encode().hex() + "0" * 16)[:16], "app_secret": "benchsecret", "token": "benchtoken",
        "original_id": "gh_bench", "encoding_aes_key": AES_KEY if mode != "plain" else None, "message_mode": mode}}


def callback_request(base: str, body: dict, mode: str, i: int) -> tuple[str, bytes]:
    app_id = body["wechat"]["app_id"]
    xml = build_message({"ToUserName": "gh_bench", "FromUserName": f"user{i % 50}", "CreateTime": int(time.time()),
                         "MsgType": "text", "Content": "hello", "MsgId": 10**15 + i})
    ts, nonce = str(int(time.time())), f"n{i}"
    query = {"signature": sha1_signature("benchtoken", ts, nonce), "timestamp": ts, "nonce": nonce}
    if mode == "safe":
        crypto = MessageCrypto("benchtoken", AES_KEY, app_id)
        encrypt = crypto.encrypt(xml)
        query.update(encrypt_type="aes", msg_signature=crypto.msg_signature(ts, nonce, encrypt))
        xml = build_message({"ToUserName": "gh_bench", "Encrypt": encrypt})
    return f"{base}/wx/{body['slug']}/callback?{urlencode(query)}", xml


async def main() -> None:
    async with running_gateway() as (gw, base):
        http = client()
        headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/json"}
        bodies = {mode: tenant(f"bench-{mode}", mode) for mode in ("plain", "safe")}
        for body in bodies.values():
            await http.fetch(f"{base}/admin/api/tenants", method="POST", body=json.dumps(body), headers=headers)

        async def healthz(_: int) -> None:
            await http.fetch(f"{base}/healthz")

        started = time.perf_counter()
        baseline = summary("GET /healthz", await load(healthz, TOTAL, CONCURRENCY), time.perf_counter() - started)
        for mode, body in bodies.items():
            requests = [callback_request(base, body, mode, i) for i in range(TOTAL)]

            async def callback(i: int, requests: list = requests) -> None:
                url, data = requests[i]
                response = await http.fetch(url, method="POST", body=data)
                assert response.code == 200

            started = time.perf_counter()
            summary(f"POST callback ({mode})", await load(callback, TOTAL, CONCURRENCY),
                    time.perf_counter() - started, baseline)
        http.close()


if __name__ == "__main__":
    asyncio.run(main())
