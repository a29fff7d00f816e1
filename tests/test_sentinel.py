"""Redis high availability (MariaDB + Redis run only): a real primary, replica and Sentinel from
Debian's redis-server, the gateway on a `redis+sentinel://` URL, and a failover in the middle of a
fan-out and a stream of callbacks: every notification goes out exactly once, every callback is
answered, and afterwards the cache is the promoted replica."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.cache import CacheError

from harness import document, free_port, wait_for
from phone import sign_in
from wechat_env import Simulator
from wechat_push import WeChat

SERVICE = "gwprimary"
LOGINS = tuple(f"s{i:02d}" for i in range(8))
DOCS = 5


class RedisSet:
    """A primary, a replica and one Sentinel (quorum 1) on free loopback ports."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.primary, self.replica, self.sentinel = free_port(), free_port(), free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    def _start(self, *args: str) -> None:
        self.procs.append(subprocess.Popen(["redis-server", *args], cwd=self.dir,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    async def start(self) -> None:
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self._start("--port", str(self.primary), *common)
        self._start("--port", str(self.replica), "--replicaof", "127.0.0.1", str(self.primary), *common)
        conf = self.dir / "sentinel.conf"
        conf.write_text(f"port {self.sentinel}\nbind 127.0.0.1\n"
                        f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary} 1\n"
                        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                        f"sentinel failover-timeout {SERVICE} 5000\n")
        self._start(str(conf), "--sentinel")

        async def replicating() -> bool:
            try:
                info = await aioredis.Redis(port=self.replica).info("replication")
                sentinel = aioredis.Redis(port=self.sentinel)
                replicas = await sentinel.execute_command("SENTINEL", "REPLICAS", SERVICE)
                return info.get("master_link_status") == "up" and len(replicas) == 1
            except Exception:
                return False
        await wait_for(replicating, timeout=30, every=0.2)

    async def fail_over(self) -> None:
        """Ask Sentinel for a failover, again while it refuses (it may not yet rate the replica, under load)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                await aioredis.Redis(port=self.sentinel).execute_command("SENTINEL", "FAILOVER", SERVICE)
                return
            except aioredis.ResponseError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def role(self, port: int) -> str:
        return str((await aioredis.Redis(port=port, decode_responses=True).info("replication"))["role"])

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@asynccontextmanager
async def redis_set_running(workdir: Path) -> AsyncIterator[RedisSet]:
    found = RedisSet(workdir)
    try:
        await found.start()
        yield found
    finally:
        found.stop()


async def test_a_failover_under_load_loses_nothing(env, tmp_path, backend):
    if backend != "mysql" or shutil.which("redis-server") is None:
        pytest.skip("Sentinel failover runs with MariaDB + Redis")
    async with redis_set_running(tmp_path) as redis_set:
        await _failover_under_load(env, redis_set)


async def _failover_under_load(env, redis_set: RedisSet) -> None:
    cache_url = f"redis+sentinel://127.0.0.1:{redis_set.sentinel}/{SERVICE}/0?prefix={env.prefix}"
    async with Simulator() as sim:
        async with env.gateway(wechat=sim.wechat(timeout=2.0), cache={"url": cache_url}) as g:
            key = (await g.create_tenant("acme"))["api_key"]
            app_id = await sim.add_tenant_app("acme", g.base_url)
            for login in LOGINS:
                await sign_in(g, sim.client, app_id, "acme", key, login, openid=f"o_acme_{login}")
            wx = await WeChat.create(g, slug="beta")
            answered: list[int] = []

            async def callbacks() -> None:
                for i in range(40):
                    r = await wx.post(wx.text(f"hello {i}", msg_id=9_000_000 + i))
                    answered.append(r.status)
                    await asyncio.sleep(0.1)

            async def documents() -> None:
                for i in range(DOCS):
                    r = await g.request("PUT", f"/api/v1/acme/documents/F{i}", document(list(LOGINS)), token=key)
                    assert r.status == 201, r.text
                    await asyncio.sleep(0.4)

            started = time.monotonic()
            load = asyncio.gather(callbacks(), documents())
            await asyncio.sleep(0.5)
            await redis_set.fail_over()
            await load
            await wait_for(lambda: _role_is_master(redis_set), timeout=45, every=0.2)

            async def all_sent() -> bool:
                for i in range(DOCS):
                    r = await g.request("GET", f"/api/v1/acme/documents/F{i}", token=key)
                    if any(x["delivery"] != "sent" for x in r.json["recipients"]):
                        return False
                return True
            await wait_for(all_sent, timeout=60, every=0.5)
            assert sim.state.call_count("cgi-bin/message/template/send") >= DOCS * len(LOGINS)
            ids = await sim.client.sent(app_id)
            assert len({m["client_msg_id"] for m in ids}) == DOCS * len(LOGINS)
            assert answered == [200] * 40
            # Once Sentinel has demoted the old primary, the gateway writes to the promoted replica (a
            # connection still open to the old one is refused there and replaced).
            await wait_for(lambda: _role_is(redis_set, redis_set.primary, "slave"), timeout=45, every=0.2)
            promoted = aioredis.Redis(port=redis_set.replica, decode_responses=True)

            async def written_to_the_new_primary() -> bool:
                try:
                    await g.gw.cache.set("after-failover", "yes", 30)
                except CacheError:
                    return False
                return await promoted.get(f"{env.prefix}after-failover") == "yes"
            await wait_for(written_to_the_new_primary, timeout=20, every=0.2)
            assert time.monotonic() - started < 150


async def _role_is_master(redis_set: RedisSet) -> bool:
    return await _role_is(redis_set, redis_set.replica, "master")


async def _role_is(redis_set: RedisSet, port: int, role: str) -> bool:
    try:
        return await redis_set.role(port) == role
    except Exception:
        return False
