"""The password-hashing queue: cores-1 low-priority threads, a bounded queue answered 503 `busy`
past it, a fair share per IP and per tenant, round-robin start order across IPs; and over HTTP, one
address filling its share cannot keep another address's login from being checked."""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Callable

import pytest

from gateway.accounts import hash_queue
from gateway.accounts.hash_queue import HashQueue, QueueFull, Requester, default_workers
from gateway.accounts.passwords import HasherOverloaded, PasswordHasher, ScryptParams
from phone import Phone
from wechat_env import WeChatEnv, wechat_env

PW = "Tr0ub4dor&3x!"


def gate_job(gate: threading.Event) -> Callable[[], str]:
    def work() -> str:
        assert gate.wait(10), "the test never opened the gate"
        return "gate"
    return work


def test_default_workers_leave_the_loop_a_core(monkeypatch: pytest.MonkeyPatch) -> None:
    for cores, expected in ((1, 1), (2, 1), (4, 3), (16, 15)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)))
        assert default_workers() == expected
    assert PasswordHasher(ScryptParams(n=2**10)).queue.workers == default_workers()


def test_hash_threads_run_at_a_lower_priority_than_the_loop() -> None:
    queue = HashQueue(workers=1, max_pending=4)

    async def scenario() -> tuple[int, int]:
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        theirs = await queue.submit(Requester(), lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return mine, theirs

    try:
        mine, theirs = asyncio.run(scenario())
    finally:
        queue.close()
    assert theirs == min(19, mine + hash_queue.HASH_THREAD_NICENESS)
    assert theirs > mine


def test_an_ip_gets_its_share_and_no_more() -> None:
    queue = HashQueue(workers=1, max_pending=8, ip_share=2, tenant_share=8)
    gate = threading.Event()

    async def scenario() -> None:
        a = Requester("1", "203.0.113.1")
        held = [queue.submit(a, gate_job(gate)), queue.submit(a, gate_job(gate))]
        with pytest.raises(QueueFull):
            queue.submit(a, gate_job(gate))
        # The same address under another tenant is still that address.
        with pytest.raises(QueueFull):
            queue.submit(Requester("2", "203.0.113.1"), gate_job(gate))
        other = queue.submit(Requester("1", "203.0.113.2"), lambda: "other")
        assert queue.held_by(a) == (2, 3) and queue.pending == 3
        gate.set()
        assert await asyncio.gather(*held, other) == ["gate", "gate", "other"]
        assert queue.pending == 0 and queue.held_by(a) == (0, 0)
        assert await queue.submit(a, lambda: "again") == "again"  # the share is back once done

    try:
        asyncio.run(scenario())
    finally:
        gate.set()
        queue.close()


def test_a_tenant_gets_its_share_and_the_whole_queue_is_bounded() -> None:
    queue = HashQueue(workers=1, max_pending=4, ip_share=4, tenant_share=3)
    gate = threading.Event()

    async def scenario() -> None:
        held = [queue.submit(Requester("1", f"198.51.100.{i}"), gate_job(gate)) for i in range(3)]
        with pytest.raises(QueueFull):
            queue.submit(Requester("1", "198.51.100.9"), gate_job(gate))
        held.append(queue.submit(Requester("2", "198.51.100.9"), gate_job(gate)))
        with pytest.raises(QueueFull):  # four of four places taken: nobody else gets in
            queue.submit(Requester("3", "192.0.2.1"), gate_job(gate))
        gate.set()
        await asyncio.gather(*held)
        assert queue.pending == 0

    try:
        asyncio.run(scenario())
    finally:
        gate.set()
        queue.close()


def test_waiting_hashes_start_round_robin_across_ips() -> None:
    queue = HashQueue(workers=1, max_pending=16, ip_share=8)
    gate = threading.Event()
    order: list[str] = []

    def job(name: str) -> Callable[[], None]:
        return lambda: order.append(name)

    async def scenario() -> None:
        blocker = queue.submit(Requester("1", "192.0.2.99"), gate_job(gate))
        futures = [queue.submit(Requester("1", "192.0.2.1"), job(f"A{i}")) for i in range(4)]
        futures.append(queue.submit(Requester("1", "192.0.2.2"), job("B0")))
        futures.append(queue.submit(Requester("2", "192.0.2.3"), job("C0")))
        gate.set()
        await asyncio.gather(blocker, *futures)

    try:
        asyncio.run(scenario())
    finally:
        gate.set()
        queue.close()
    # A's four queued hashes arrived first, yet B and C each wait for one of A's at most.
    assert order == ["A0", "B0", "C0", "A1", "A2", "A3"]


def test_a_failing_hash_frees_its_place() -> None:
    queue = HashQueue(workers=1, max_pending=1)

    def boom() -> None:
        raise ValueError("bad parameters")

    async def scenario() -> None:
        with pytest.raises(ValueError):
            await queue.submit(Requester("1", "192.0.2.1"), boom)
        assert queue.pending == 0
        assert await queue.submit(Requester("1", "192.0.2.1"), lambda: 7) == 7

    try:
        asyncio.run(scenario())
    finally:
        queue.close()


def test_hasher_refuses_past_the_requesters_share() -> None:
    h = PasswordHasher(ScryptParams(n=2**10), max_workers=1, max_pending=8, ip_share=1)
    gate = threading.Event()

    async def scenario() -> None:
        busy_ip = Requester("1", "203.0.113.7")
        held = h.queue.submit(busy_ip, gate_job(gate))
        with pytest.raises(HasherOverloaded):
            await h.hash("a-fine-password", busy_ip)
        waiting = asyncio.ensure_future(h.hash("a-fine-password", Requester("1", "203.0.113.8")))
        gate.set()
        await held
        assert (await waiting).startswith("scrypt$1024$")

    try:
        asyncio.run(scenario())
    finally:
        gate.set()
        h.close()


async def ready_phone(wx: WeChatEnv, openid: str) -> Phone:
    phone = wx.phone("acme")
    await wx.use_openid("acme", openid)
    r = await phone.open_entry()
    assert r.status == 302 and "/login" in r.headers["Location"]
    return phone


async def test_one_address_cannot_fill_the_hashing_queue_for_everyone(env: Any) -> None:
    async with wechat_env(env, server={"trusted_proxies": ["127.0.0.1"]}) as wx:
        await wx.put_account("zhang", PW)
        await wx.put_account("li", PW)
        queue = wx.g.gw.hasher.queue
        tenant = wx.g.gw.registry.require("acme")
        flooder = Requester(str(tenant.id), "203.0.113.66")
        gate = threading.Event()
        # The flooding address holds its whole share, as if its own sign-ins were still hashing.
        held = [queue.submit(flooder, gate_job(gate)) for _ in range(queue.ip_share)]
        try:
            phone = await ready_phone(wx, "o_flood")
            r = await phone.api("login", {"login": "zhang", "password": PW},
                                headers={"X-Forwarded-For": "203.0.113.66"})
            assert r.status == 503 and r.json["error"]["code"] == "busy"
            assert "busy" in r.json["error"]["message"] and PW not in r.text
            # Another address is queued behind at most one of the flooder's hashes, not refused.
            other = await ready_phone(wx, "o_other")
            pending = asyncio.ensure_future(other.api("login", {"login": "li", "password": PW},
                                                      headers={"X-Forwarded-For": "198.51.100.20"}))
            await asyncio.sleep(0.2)
            assert not pending.done()
            gate.set()
            assert (await pending).status == 200
        finally:
            gate.set()
            await asyncio.gather(*held)
        # The refused attempt used no failure slot: the flooder's address signs in once it has room.
        r = await phone.api("login", {"login": "zhang", "password": PW}, headers={"X-Forwarded-For": "203.0.113.66"})
        assert r.status == 200
