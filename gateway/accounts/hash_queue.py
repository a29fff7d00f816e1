"""A bounded, fair queue in front of the password-hashing threads: at most `workers` hashes run at
once (one core stays for the event loop), at most `max_pending` run or wait, no single IP or tenant
holds more than its share of those places, and waiting hashes start round-robin across IPs, so
one client hammering sign-in cannot make everyone else's logins wait behind its queue."""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["HashQueue", "QueueFull", "Requester", "default_workers"]

log = logging.getLogger(__name__)

# How much lower the hash threads run than the loop's thread (Linux schedules threads one by one,
# so a thread's own nice value applies to it alone).
HASH_THREAD_NICENESS = 10


@dataclass(frozen=True)
class Requester:
    """Whose hash this is, for the fair shares: the tenant and the client's IP (either may be '')."""
    tenant: str = ""
    ip: str = ""


class QueueFull(Exception):
    """No place for this hash: the whole queue, or this requester's share of it, is taken."""


def default_workers() -> int:
    """One hashing thread per usable core but one, and at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def _lower_priority() -> None:
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, HASH_THREAD_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: plain priority still works
        pass


@dataclass
class _Job:
    requester: Requester
    work: Callable[[], Any]
    future: "asyncio.Future[Any]"


class HashQueue:
    def __init__(self, workers: int, max_pending: int, ip_share: int | None = None,
                 tenant_share: int | None = None) -> None:
        if workers < 1 or max_pending < 1:
            raise ValueError("workers and max_pending must be at least 1")
        self.workers, self.max_pending = workers, max_pending
        # A carrier IP is shared by many phones, so an IP gets a quarter of the places; one tenant's
        # morning rush may take all but an eighth, which stays for everyone else.
        self.ip_share = ip_share or max(1, max_pending // 4)
        self.tenant_share = tenant_share or max(1, max_pending - max_pending // 8)
        self.pending = 0
        self._running = 0
        self._by_ip: dict[str, int] = {}
        self._by_tenant: dict[str, int] = {}
        self._waiting: OrderedDict[str, deque[_Job]] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scrypt",
                                            initializer=_lower_priority)

    def held_by(self, requester: Requester) -> tuple[int, int]:
        """Places held (running or waiting) by the requester's IP and by its tenant."""
        return self._by_ip.get(requester.ip, 0), self._by_tenant.get(requester.tenant, 0)

    def submit(self, requester: Requester, work: Callable[[], Any]) -> "asyncio.Future[Any]":
        """A future for `work`'s result, run on a hashing thread in fair order; QueueFull at once
        when there is no place for it."""
        by_ip, by_tenant = self.held_by(requester)
        if self.pending >= self.max_pending:
            raise QueueFull(f"{self.pending} password hashes already pending")
        if requester.ip and by_ip >= self.ip_share:
            raise QueueFull("this address already has its share of password hashes pending")
        if requester.tenant and by_tenant >= self.tenant_share:
            raise QueueFull("this tenant already has its share of password hashes pending")
        job = _Job(requester, work, asyncio.get_running_loop().create_future())
        self.pending += 1
        self._by_ip[requester.ip] = by_ip + 1
        self._by_tenant[requester.tenant] = by_tenant + 1
        self._waiting.setdefault(requester.ip, deque()).append(job)
        self._start_next()
        return job.future

    def _start_next(self) -> None:
        while self._running < self.workers and self._waiting:
            ip, jobs = next(iter(self._waiting.items()))
            job = jobs.popleft()
            del self._waiting[ip]
            if jobs:  # this IP goes to the back of the round
                self._waiting[ip] = jobs
            self._running += 1
            running = asyncio.get_running_loop().run_in_executor(self._executor, job.work)
            running.add_done_callback(lambda done, job=job: self._finished(job, done))

    def _finished(self, job: _Job, done: "asyncio.Future[Any]") -> None:
        self._running -= 1
        self.pending -= 1
        for counts, key in ((self._by_ip, job.requester.ip), (self._by_tenant, job.requester.tenant)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]
        if done.cancelled():
            job.future.cancel()
        elif done.exception() is not None:
            job.future.set_exception(done.exception())  # type: ignore[arg-type]
        else:
            job.future.set_result(done.result())
        self._start_next()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
