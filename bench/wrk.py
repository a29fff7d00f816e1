"""wrk plumbing for the callback benchmarks: install wrk when missing, start servers pinned to
core 0 (`taskset -c 0`), run wrk pinned to core 1 with one thread and 50 connections cycling
through pre-generated requests (wrk_cycle.lua), and take medians of ratios over rounds."""
from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

BENCH_DIR = Path(__file__).resolve().parent
CONNECTIONS = 50
SERVER_CORE, LOAD_CORE = "0", "1"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's package", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


def pinned(core: str, argv: list[str]) -> list[str]:
    """argv run on one core when the machine has more than one (taskset), else as is."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        return ["taskset", "-c", core, *argv]
    return argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(argv: list[str], env: dict[str, str] | None = None, pin: bool = True) -> subprocess.Popen[str]:
    """A server process (pinned to the server core unless told not to); returns once it printed READY."""
    command = [sys.executable, *argv]
    process = subprocess.Popen(pinned(SERVER_CORE, command) if pin else command, stdout=subprocess.PIPE, text=True,
                               cwd=BENCH_DIR.parent, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("READY"):
            return process
    raise RuntimeError(f"server {argv} exited before it was ready (exit {process.wait()})")


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def write_requests(lines: Iterable[tuple[str, bytes]]) -> str:
    """The requests as wrk_cycle.lua reads them: one "<path>\\t<body>" per line."""
    handle, path = tempfile.mkstemp(prefix="wrk-requests-", suffix=".txt")
    with os.fdopen(handle, "wb") as out:
        for url_path, body in lines:
            assert b"\n" not in body and b"\t" not in body
            out.write(url_path.encode("ascii") + b"\t" + body + b"\n")
    return path


def run_wrk(base_url: str, requests_file: str, seconds: float) -> WrkResult:
    """One wrk run; fails when any answer was not 2xx or a connection broke."""
    argv = pinned(LOAD_CORE, [ensure_wrk(), "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "10s",
                              "-s", str(BENCH_DIR / "wrk_cycle.lua"), base_url, "--", requests_file])
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    if figures["bad_status"] or figures["socket_errors"]:
        raise RuntimeError(f"wrk against {base_url}: {figures['bad_status']} non-2xx answers, "
                           f"{figures['socket_errors']} socket errors")
    return WrkResult(figures["requests"], figures["seconds"], figures["p50_ms"], figures["p99_ms"])


def median_ratio(numerators: list[WrkResult], denominators: list[WrkResult]) -> float:
    """Median over rounds of the rate ratio of each pair measured in the same round."""
    return statistics.median(a.rate / b.rate for a, b in zip(numerators, denominators))
