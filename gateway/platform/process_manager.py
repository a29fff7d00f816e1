"""`--processes N`: the master forks N workers that share the listening sockets, replaces a worker
that exits unasked (crashed or not) after a backoff, and on SIGTERM/SIGINT closes its copies of the
sockets, forwards the signal and exits once every worker has stopped."""
from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time

log = logging.getLogger("gateway.master")

FIRST_DELAY = 1.0      # a worker that exits unasked is replaced after this long…
MAX_DELAY = 30.0       # …doubling each time up to this,
STABLE_SECONDS = 60.0  # and back to FIRST_DELAY once a worker has run this long
_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class Master:
    def __init__(self, count: int, sockets: list[socket.socket]) -> None:
        self.count, self.sockets = count, sockets
        self.children: dict[int, int] = {}          # pid -> worker number
        self.started: dict[int, float] = {}         # worker number -> monotonic start
        self.delay: dict[int, float] = {}           # worker number -> next restart delay
        self.stopping = False

    def spawn(self, task_id: int) -> bool:
        """Fork worker `task_id`; True in the child. Signals are held while the child is not yet
        recorded, so a SIGTERM arriving meanwhile reaches it too; the child gets the default
        handlers back at once (its event loop installs its own), so it can never swallow one."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                for signum in _SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                return True
            self.children[pid] = task_id
            self.started[task_id] = time.monotonic()
            return False
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    def forward(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            for sock in self.sockets:  # new connections are refused once the workers close theirs
                sock.close()
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def _backoff(self, task_id: int) -> float:
        lived = time.monotonic() - self.started.get(task_id, 0.0)
        delay = FIRST_DELAY if lived >= STABLE_SECONDS else self.delay.get(task_id, FIRST_DELAY)
        self.delay[task_id] = min(MAX_DELAY, delay * 2)
        return delay

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.05)

    def run(self) -> int:
        """Fork the workers and supervise them; returns the worker number in each child, exits in
        the master when all workers have stopped."""
        for task_id in range(self.count):
            if self.spawn(task_id):
                return task_id
        signal.signal(signal.SIGTERM, self.forward)
        signal.signal(signal.SIGINT, self.forward)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            task_id = self.children.pop(pid, -1)
            if self.stopping or task_id < 0:
                continue
            delay = self._backoff(task_id)
            log.warning("worker %d exited unasked (%s); replacing it in %.0f s", task_id,
                        os.waitstatus_to_exitcode(status), delay)
            self._wait(delay)
            if not self.stopping and self.spawn(task_id):
                return task_id
        sys.exit(0)


def fork_workers(count: int, sockets: list[socket.socket]) -> int:
    return Master(count, sockets).run()
