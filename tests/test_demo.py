"""`python server.py --demo` as a real subprocess: it prints the URLs to open, the entry URL goes
through the simulator's authorize page, the inbox flow works over HTTP, SIGTERM stops it cleanly,
and a second start on the same var/ reuses the demo tenant."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import sys
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import tornado.httpclient

from harness import free_port
from simulator.client import SimulatorClient

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Start@2026pass"


class Demo:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def wait_for_line(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        regex = re.compile(pattern)
        for line in self.lines:
            if found := regex.search(line):
                return found
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        assert self.proc.stdout is not None
        while True:
            remaining = deadline - loop.time()
            assert remaining > 0, f"no line matching {pattern!r} in:\n" + "".join(self.lines)
            raw = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            assert raw, f"the demo exited ({self.proc.returncode}) before {pattern!r}:\n" + "".join(self.lines)
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if found := regex.search(line):
                return found

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stdout is not None
        rest = await asyncio.wait_for(self.proc.stdout.read(), 30)
        self.lines.append(rest.decode("utf-8", "replace"))
        return await asyncio.wait_for(self.proc.wait(), 30)


@asynccontextmanager
async def run_demo(tmp_path: Path, port: int) -> AsyncIterator[Demo]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({"GATEWAY_SERVER_VAR_DIR": str(tmp_path / "var"),
                "GATEWAY_STORAGE_URL": f"sqlite:///{tmp_path}/demo.db",
                "GATEWAY_CACHE_URL": "memory://",
                # Cheaper password hashing keeps the test quick; the flow is the same.
                "GATEWAY_SECURITY_PASSWORD_HASH_N": "16384",
                "PYTHONUNBUFFERED": "1"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "server.py", "--demo", "--port", str(port), cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    demo = Demo(proc)
    try:
        yield demo
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


class Browser:
    """Follows nothing by itself; keeps the gateway's cookies and echoes _xsrf as X-XSRFToken."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.cookies: dict[str, str] = {}
        self.http = tornado.httpclient.AsyncHTTPClient(force_instance=True)

    async def fetch(self, url: str, method: str = "GET", body: Any = None) -> tornado.httpclient.HTTPResponse:
        headers: dict[str, str] = {}
        mine = url.startswith(self.gateway)
        if mine and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            headers["X-XSRFToken"] = self.cookies.get("_xsrf", "")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response = await self.http.fetch(url, method=method, body=data, headers=headers, follow_redirects=False,
                                         raise_error=False, request_timeout=30)
        if mine:
            for header in response.headers.get_list("Set-Cookie"):
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
        return response

    def absolute(self, location: str) -> str:
        return location if "://" in location else self.gateway + location

    def close(self) -> None:
        self.http.close()


async def test_demo_runs_the_inbox_flow_and_restarts_on_the_same_var(tmp_path):
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    async with run_demo(tmp_path, port) as demo:
        phone = (await demo.wait_for_line(r"Open first: (\S+)")).group(1)
        business = (await demo.wait_for_line(r"Business system .*: (\S+)")).group(1)
        entry = (await demo.wait_for_line(r"Demo entry URL: (\S+)")).group(1)
        sim = (await demo.wait_for_line(r"Simulator URL: (\S+)")).group(1)
        await demo.wait_for_line(r"Gateway listening")
        assert entry == f"{gateway}/wx/demo/entry?next=inbox"
        key_file = tmp_path / "var" / "demo_api_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        api_key = key_file.read_text().strip()

        assert phone == f"{sim}/_sim/phone?app_id=wxdemo000000000001&openid=o_demo_zhangsan"
        first_urls = [line for line in demo.lines if "http://" in line]
        assert "Open first:" in first_urls[0]  # the one URL to open first comes first
        browser = Browser(gateway)
        try:
            ready = await browser.fetch(f"{gateway}/readyz")
            assert ready.code == 200, ready.body
            # Both modes: the simulated Open Platform pushed its first verify ticket to the gateway.
            await demo.wait_for_line(r"Third-party platform mode: .*授权接入")
            for _ in range(100):
                platform = json.loads((await browser.fetch(f"{sim}/_sim/component")).body)
                if platform["pushes"]:
                    break
                await asyncio.sleep(0.1)
            assert platform["configured"] and platform["pushes"][0]["body"] == "success", platform
            page = await browser.fetch(phone)
            assert page.code == 200 and "模拟手机".encode() in page.body
            state = json.loads((await browser.fetch(
                f"{sim}/_sim/phone/api/state?app_id=wxdemo000000000001&openid=o_demo_zhangsan")).body)
            assert [b["name"] for b in state["menu"]["button"]] == ["待办", "待办数", "我的"]
            assert state["subscribed"] is False and "zhangsan / " + PASSWORD in state["app"]["hint"]
            assert {u["nickname"] for u in state["users"]} == {"张三", "李四", "王五"}
            desk = await browser.fetch(business)
            assert desk.code == 200 and "演示业务系统".encode() in desk.body
            r = await browser.fetch(entry)
            assert r.code == 302
            authorize = r.headers["Location"]
            assert authorize.startswith(f"{sim}/connect/oauth2/authorize?appid=wxdemo000000000001&")
            r = await browser.fetch(authorize)  # the simulator's page, with its current user set
            assert r.code == 302
            back = r.headers["Location"]
            assert urlsplit(back).path == "/wx/demo/oauth"
            r = await browser.fetch(back)
            assert r.code == 302
            login_page = browser.absolute(r.headers["Location"])
            assert urlsplit(login_page).path == "/wx/demo/login"
            r = await browser.fetch(login_page)
            assert r.code == 200 and "_xsrf" in browser.cookies
            r = await browser.fetch(f"{gateway}/wx/demo/api/login", "POST", {"login": "zhangsan", "password": PASSWORD})
            assert r.code == 200, r.body
            assert json.loads(r.body) == {"ok": True, "must_change_password": False}
            r = await browser.fetch(f"{gateway}/wx/demo/inbox")
            assert r.code == 200 and b'data-page="inbox"' in r.body
            # The business system got the signed account.bound (lisi's and wangwu's, then zhangsan's).
            for _ in range(150):
                desk = (await browser.fetch(business)).body.decode()
                if desk.count("微信绑定") >= 3:
                    break
                await asyncio.sleep(0.1)
            assert desk.count("微信绑定") >= 3 and "签名有效" in desk and "签名无效" not in desk
            made = await browser.fetch(business + "bind-qr", "POST", {})
            assert made.code == 302  # the desktop's bind-qr call; a departed/pending account would fail
            desk = (await browser.fetch(business)).body.decode()
            assert "/wx/demo/bind-qr.png?ticket=" in desk and "http://weixin.qq.com/q/" in desk
            inbox = json.loads((await browser.fetch(f"{gateway}/wx/demo/api/inbox")).body)
            assert inbox["account"]["name"] == "张三"
            roles = {d["id"]: d["role"] for d in inbox["documents"]}
            assert roles == {"PR-2026-0012": "approver", "EX-2026-0345": "approver", "LV-2026-0078": "cc"}
            r = await browser.fetch(f"{gateway}/wx/demo/doc/PR-2026-0012")
            assert r.code == 200
            # lisi and wangwu were bound by the demo, so their notifications reached the simulator.
            sim_client = SimulatorClient(sim)
            for _ in range(150):
                sent = await sim_client.sent("wxdemo000000000001")
                if len(sent) >= 3:
                    break
                await asyncio.sleep(0.1)
            assert sorted((m["touser"], m["url"]) for m in sent if m["touser"] != "o_demo_zhangsan") == [
                ("o_demo_lisi", f"{gateway}/wx/demo/entry?next=doc/LV-2026-0078"),
                ("o_demo_lisi", f"{gateway}/wx/demo/entry?next=doc/PR-2026-0012"),
                ("o_demo_wangwu", f"{gateway}/wx/demo/entry?next=doc/PR-2026-0012")]
        finally:
            browser.close()
        assert await demo.stop() == 0
        output = "".join(demo.lines)
        assert "Traceback" not in output

    # A second start on the same var/: the tenant, its key, the accounts and the binding are kept.
    async with run_demo(tmp_path, port) as demo:
        await demo.wait_for_line(r"Gateway listening")
        assert (tmp_path / "var" / "demo_api_key").read_text().strip() == api_key
        http = tornado.httpclient.AsyncHTTPClient(force_instance=True)
        try:
            r = await http.fetch(f"{gateway}/api/v1/demo/accounts/zhangsan",
                                 headers={"Authorization": f"Bearer {api_key}"}, raise_error=False)
            assert r.code == 200 and json.loads(r.body)["bound"] is True
            r = await http.fetch(f"{gateway}/wx/demo/entry?next=inbox", follow_redirects=False, raise_error=False)
            assert r.code == 302 and "/connect/oauth2/authorize?" in r.headers["Location"]
        finally:
            http.close()
        assert await demo.stop() == 0
        assert "Traceback" not in "".join(demo.lines)
