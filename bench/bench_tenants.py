"""10,000 tenants: start-up time and resident memory of a gateway process with 10,000 tenants
registered against one with a single tenant (resident memory per tenant), and how long a tenant
change made in one process takes to reach another process (notice or poll), with 10,000 tenants
against one tenant, each measured in the same run. (Callbacks spread over 1,000 tenants against
one tenant: bench_callbacks.py.)"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_callbacks import tenant_body  # noqa: E402
from bench.common import OPERATOR, client  # noqa: E402
from bench.wrk import free_port, start_server, stop_server  # noqa: E402

TENANTS = int(os.environ.get("BENCH_TENANTS", "10000"))
CHANGES = 3
MASTER_KEY = secrets.token_hex(32)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def storage_url(name: str, tmp: str) -> str:
    given = os.environ.get("GATEWAY_BENCH_STORAGE_URL")
    if given and given.startswith("mysql"):
        # Two databases in one run: the many-tenant one as given, the one-tenant baseline beside it.
        return given if name == "many" else f"{given}_one"
    return f"sqlite:///{tmp}/{name}.db"


def mysql_database(url: str, create: bool) -> None:
    """Create (or drop) the baseline's own MariaDB database."""
    import pymysql
    from urllib.parse import urlparse
    parsed = urlparse(url)
    connection = pymysql.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 3306,
                                 user=parsed.username or "root", password=parsed.password or "")
    try:
        with connection.cursor() as cursor:
            database = parsed.path.strip("/")
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4" if create
                           else f"DROP DATABASE IF EXISTS `{database}`")
    finally:
        connection.close()


def start(url: str) -> tuple[object, str, float]:
    port = free_port()
    settings = {"storage": {"url": url}, "security": {"master_key": MASTER_KEY, "session_key": "s" * 40}}
    started = time.perf_counter()
    process = start_server(["bench/serve_gateway.py", str(port)], pin=False,
                           env={**os.environ, "BENCH_GATEWAY_SETTINGS": json.dumps(settings)})
    return process, f"http://127.0.0.1:{port}", time.perf_counter() - started


async def create(base: str, count: int) -> float:
    http = client()
    headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/json"}
    queue = list(range(count))
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            i = queue.pop()
            response = await http.fetch(f"{base}/admin/api/tenants", method="POST", headers=headers,
                                        body=json.dumps(tenant_body(f"tn-{i:05d}", f"wxtenant{i:010d}")))
            assert response.code == 201
    await asyncio.gather(*(worker() for _ in range(8)))
    http.close()
    return time.perf_counter() - started


async def propagation(writer: str, reader: str, slug: str, rounds: int) -> float:
    """Median seconds from a PATCH answered by `writer` until `reader` serves the new name."""
    http = client()
    headers = {"Authorization": f"Bearer {OPERATOR}", "Content-Type": "application/json"}
    times = []
    for n in range(rounds):
        name = f"改名 {n} {secrets.token_hex(3)}"
        await http.fetch(f"{writer}/admin/api/tenants/{slug}", method="PATCH", headers=headers,
                         body=json.dumps({"name": name}))
        started = time.perf_counter()
        while True:
            response = await http.fetch(f"{reader}/admin/api/tenants/{slug}", headers=headers)
            if json.loads(response.body)["name"] == name:
                break
            if time.perf_counter() - started > 30:
                raise RuntimeError("a tenant change did not reach the other process within 30 s")
            await asyncio.sleep(0.01)
        times.append(time.perf_counter() - started)
    http.close()
    return statistics.median(times)


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="gw-bench-tenants-")
    figures = {}
    for name, count in (("one", 1), ("many", TENANTS)):
        url = storage_url(name, tmp)
        if name == "one" and url.startswith("mysql"):
            mysql_database(url, create=True)
        writer, writer_base, _ = start(url)
        try:
            created = asyncio.run(create(writer_base, count))
            reader, reader_base, startup = start(url)  # starts with every tenant already registered
            try:
                rss = rss_kib(reader.pid)
                moved = asyncio.run(propagation(writer_base, reader_base, "tn-00000", CHANGES))
            finally:
                stop_server(reader)
        finally:
            stop_server(writer)
            if name == "one" and url.startswith("mysql"):
                mysql_database(url, create=False)
        figures[name] = (created, startup, rss, moved)
        print(f"{count:6d} tenant(s): registered in {created:6.1f} s; a second process starts in {startup:5.2f} s,"
              f" resident {rss / 1024:6.1f} MiB; a change reaches it in {moved:5.2f} s (median of {CHANGES})")
    one, many = figures["one"], figures["many"]
    print(f"start-up with {TENANTS} tenants: {many[1] / one[1]:.2f}x the start-up with one"
          f" ({(many[1] - one[1]) / (TENANTS - 1) * 1e6:.0f} us per tenant)")
    print(f"resident memory per tenant: {(many[2] - one[2]) / (TENANTS - 1):.1f} KiB")
    if one[3] >= 0.05:
        print(f"change propagation with {TENANTS} tenants: {many[3] / one[3]:.2f}x the time with one")
    else:  # a notice (Redis) lands before the first look: no ratio to take
        print(f"change propagation with {TENANTS} tenants: {many[3] * 1000:.0f} ms, with one:"
              f" {one[3] * 1000:.0f} ms (the reader's first look, 10 ms apart)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
