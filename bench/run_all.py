"""Runs every bench/bench_*.py in turn, each in a fresh Python process, and reports which failed.

    python bench/run_all.py [name-filter ...]

With GATEWAY_BENCH_STORAGE_URL=mysql://user:pass@host:port/<db>, each benchmark gets its own
fresh database `<db>_<benchmark>_<random>` (created before, dropped after), and a redis://
GATEWAY_BENCH_CACHE_URL gets its own key prefix (its keys deleted after), so runs never see
each other's tenants."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

BENCH_DIR = Path(__file__).resolve().parent
TIMEOUT = 600.0  # seconds one benchmark may take (fan-out: 3 rounds of 3 x 10,000 sends)


@contextmanager
def fresh_backends(name: str) -> Iterator[dict[str, str]]:
    """The environment for one benchmark: a database and key prefix of its own when MariaDB/Redis are used."""
    env = dict(os.environ)
    storage = env.get("GATEWAY_BENCH_STORAGE_URL", "")
    cache = env.get("GATEWAY_BENCH_CACHE_URL", "")
    token = secrets.token_hex(3)
    prefix = ""
    if cache.startswith("redis://") and "prefix=" not in cache:
        prefix = f"bench{token}:"
        env["GATEWAY_BENCH_CACHE_URL"] = f"{cache}{'&' if '?' in cache else '?'}prefix={prefix}"
    try:
        if storage.startswith("mysql://"):
            with fresh_database(storage, name, token) as url:
                env["GATEWAY_BENCH_STORAGE_URL"] = url
                yield env
        else:
            yield env
    finally:
        if prefix:
            drop_keys(cache, prefix)


def drop_keys(cache_url: str, prefix: str) -> None:
    """Delete the benchmark's own keys (its prefix) from Redis."""
    import redis
    client = redis.Redis.from_url(cache_url.split("?", 1)[0])
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


@contextmanager
def fresh_database(storage_url: str, name: str, token: str) -> Iterator[str]:
    """A database of its own for one benchmark, dropped afterwards; yields its URL."""
    import pymysql
    url = urlparse(storage_url)
    database = f"{url.path.strip('/') or 'gwbench'}_{name.removeprefix('bench_')}_{token}"
    connection = pymysql.connect(host=url.hostname or "127.0.0.1", port=url.port or 3306,
                                 user=url.username or "root", password=url.password or "", autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        yield url._replace(path=f"/{database}").geturl()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        connection.close()


def main(argv: list[str]) -> int:
    scripts = sorted(p for p in BENCH_DIR.glob("bench_*.py") if not argv or any(f in p.stem for f in argv))
    failed: list[str] = []
    backend = (os.environ.get("GATEWAY_BENCH_STORAGE_URL", "sqlite").split(":", 1)[0] + " + "
               + os.environ.get("GATEWAY_BENCH_CACHE_URL", "memory").split(":", 1)[0])
    print(f"# {len(scripts)} benchmarks on {backend}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
          flush=True)
    for script in scripts:
        print(f"\n== {script.stem}", flush=True)
        started = time.perf_counter()
        try:
            with fresh_backends(script.stem) as env:
                code = subprocess.run([sys.executable, str(script)], env=env, cwd=BENCH_DIR.parent,
                                      timeout=TIMEOUT).returncode
        except subprocess.TimeoutExpired:
            code = -1
            print(f"timed out after {TIMEOUT:.0f} s", flush=True)
        print(f"({script.stem}: {'ok' if code == 0 else f'FAILED, exit {code}'}, {time.perf_counter() - started:.0f} s)",
              flush=True)
        if code != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
