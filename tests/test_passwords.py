"""Tests for gateway.accounts.passwords: scrypt hashing in a bounded executor."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.accounts import passwords
from gateway.accounts.passwords import (
    PRODUCTION_PARAMS,
    HasherOverloaded,
    PasswordHasher,
    ScryptParams,
)

FAST = ScryptParams(n=2**10, r=8, p=1)


@pytest.fixture
def hasher() -> Iterator[PasswordHasher]:
    h = PasswordHasher(FAST)
    yield h
    h.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_round_trip_and_format(hasher: PasswordHasher) -> None:
    encoded = run(hasher.hash("correct horse battery staple"))
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1")
    assert len(passwords._unb64(salt)) == 16
    assert len(passwords._unb64(digest)) == 32
    assert run(hasher.verify("correct horse battery staple", encoded)) is True
    assert run(hasher.verify("correct horse battery stapler", encoded)) is False
    assert run(hasher.verify("", encoded)) is False


def test_salt_is_random(hasher: PasswordHasher) -> None:
    a, b = run(hasher.hash("same password")), run(hasher.hash("same password"))
    assert a != b
    assert run(hasher.verify("same password", a)) and run(hasher.verify("same password", b))


def test_production_params_are_stored_and_verify() -> None:
    h = PasswordHasher()
    try:
        assert h.params == ScryptParams(n=2**17, r=8, p=1) == PRODUCTION_PARAMS
        encoded = run(h.hash("生产环境的密码 prod"))
        assert encoded.startswith("scrypt$131072$8$1$")
        assert run(h.verify("生产环境的密码 prod", encoded)) is True
        assert h.needs_rehash(encoded) is False
    finally:
        h.close()


def test_no_truncation(hasher: PasswordHasher) -> None:
    pw = "a-pretty-long-password"
    encoded = run(hasher.hash(pw))
    assert run(hasher.verify(pw + "x", encoded)) is False
    assert run(hasher.verify(pw[:-1], encoded)) is False

    long_pw = "".join(chr(ord("a") + i % 26) for i in range(100))
    encoded = run(hasher.hash(long_pw))
    assert run(hasher.verify(long_pw, encoded)) is True
    assert run(hasher.verify(long_pw[:99], encoded)) is False
    # bcrypt-style 72-byte truncation would make these equal
    assert run(hasher.verify(long_pw[:72], encoded)) is False


def test_no_case_folding_or_normalisation(hasher: PasswordHasher) -> None:
    encoded = run(hasher.hash("Password-Case"))
    assert run(hasher.verify("password-case", encoded)) is False
    composed, decomposed = "caf\u00e9-latte", "cafe\u0301-latte"
    encoded = run(hasher.hash(composed))
    assert run(hasher.verify(decomposed, encoded)) is False


@pytest.mark.parametrize("pw", ["🔐🔑🗝️ emoji pass 😀", "我爱北京天安门广场", "пароль-密码-🙂"])
def test_unicode_passwords(hasher: PasswordHasher, pw: str) -> None:
    encoded = run(hasher.hash(pw))
    assert run(hasher.verify(pw, encoded)) is True
    assert run(hasher.verify(pw[:-1], encoded)) is False


def test_lone_surrogate_is_refused(hasher: PasswordHasher) -> None:
    with pytest.raises(ValueError):
        run(hasher.hash("abc\ud800defgh"))
    encoded = run(hasher.hash("abcdefgh"))
    assert run(hasher.verify("abc\ud800defgh", encoded)) is False


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "not a hash",
        "scrypt$1024$8$1$abc",
        "scrypt$1024$8$1$!!!$!!!",
        "scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$1000$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$1073741824$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$1024$0$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$1024$8$1$$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pbkdf2_sha256$600000$salt$hash",
        "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$extra",
        "scrypt$１０２４$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ],
)
def test_malformed_encoded_is_false(hasher: PasswordHasher, encoded: str) -> None:
    assert run(hasher.verify("whatever-password", encoded)) is False
    assert hasher.needs_rehash(encoded) is True


def test_non_string_encoded_is_false(hasher: PasswordHasher) -> None:
    assert run(hasher.verify("whatever-password", None)) is False  # type: ignore[arg-type]


def test_needs_rehash() -> None:
    weak = PasswordHasher(FAST)
    prod = PasswordHasher()
    try:
        weak_hash = run(weak.hash("upgrade-me-please"))
        assert prod.needs_rehash(weak_hash) is True
        assert weak.needs_rehash(weak_hash) is False
        # an old hash still verifies under the new hasher, so it can be upgraded at login
        assert run(prod.verify("upgrade-me-please", weak_hash)) is True
        other = PasswordHasher(ScryptParams(n=2**10, r=4, p=1))
        try:
            assert other.needs_rehash(weak_hash) is True
        finally:
            other.close()
    finally:
        weak.close()
        prod.close()


def _counting_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    lock = threading.Lock()
    real: Callable[..., bytes] = hashlib.scrypt

    def counting(password: bytes, **kwargs: Any) -> bytes:
        with lock:
            calls.append(kwargs)
        return real(password, **kwargs)

    monkeypatch.setattr(passwords.hashlib, "scrypt", counting)
    return calls


def test_verify_dummy_runs_the_kdf_with_own_params(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _counting_scrypt(monkeypatch)
    assert run(hasher.verify_dummy("someone-elses-guess")) is None
    assert len(calls) == 1
    assert (calls[0]["n"], calls[0]["r"], calls[0]["p"]) == (FAST.n, FAST.r, FAST.p)
    assert calls[0]["dklen"] == 32


def test_verify_dummy_time_is_comparable_to_verify() -> None:
    h = PasswordHasher(ScryptParams(n=2**14, r=8, p=1))
    try:
        encoded = run(h.hash("a real password"))

        async def timed(coro_fn: Callable[[], Any]) -> float:
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                await coro_fn()
                best = min(best, time.perf_counter() - start)
            return best

        real = run(timed(lambda: h.verify("a wrong password", encoded)))
        dummy = run(timed(lambda: h.verify_dummy("a wrong password")))
        assert dummy > real / 3
        assert dummy < real * 3 + 0.05
    finally:
        h.close()


def test_hashing_does_not_block_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The KDF runs on executor threads, never on the loop's thread, and the loop keeps turning."""
    import threading

    import gateway.accounts.passwords as passwords_module

    h = PasswordHasher(ScryptParams(n=2**14, r=8, p=1), max_workers=2)
    kdf_threads: list[int] = []
    real_kdf = passwords_module._kdf

    def spying_kdf(*args: object, **kwargs: object) -> bytes:
        kdf_threads.append(threading.get_ident())
        return real_kdf(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(passwords_module, "_kdf", spying_kdf)

    async def scenario() -> tuple[int, int, list[str]]:
        done = asyncio.Event()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        results = await asyncio.gather(*(h.hash(f"password-{i}") for i in range(4)))
        done.set()
        await tick_task
        return ticks, threading.get_ident(), list(results)

    try:
        ticks, loop_thread, results = run(scenario())
    finally:
        h.close()
    assert len(kdf_threads) == 4 and loop_thread not in kdf_threads
    assert ticks > 0  # the loop ran other work while the hashes were computed
    assert len(set(results)) == 4


def test_overloaded_beyond_max_pending() -> None:
    h = PasswordHasher(ScryptParams(n=2**14, r=8, p=1), max_workers=1, max_pending=2)

    async def scenario() -> None:
        first = asyncio.create_task(h.hash("first-password"))
        second = asyncio.create_task(h.hash("second-password"))
        await asyncio.sleep(0)
        assert h.pending == 2
        with pytest.raises(HasherOverloaded):
            await h.hash("third-password")
        with pytest.raises(HasherOverloaded):
            await h.verify("third-password", other_hash)
        await asyncio.gather(first, second)
        assert h.pending == 0
        # capacity is back once the queue drains
        assert (await h.hash("fourth-password")).startswith("scrypt$16384$")

    other_hash = "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    try:
        run(scenario())
    finally:
        h.close()


def test_cancelled_caller_keeps_slot_until_thread_finishes() -> None:
    h = PasswordHasher(ScryptParams(n=2**14, r=8, p=1), max_workers=1, max_pending=4)

    async def scenario() -> None:
        task = asyncio.create_task(h.hash("cancel-me-please"))
        await asyncio.sleep(0)
        assert h.pending == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert h.pending == 1  # the thread is still computing
        for _ in range(200):
            if h.pending == 0:
                break
            await asyncio.sleep(0.01)
        assert h.pending == 0

    try:
        run(scenario())
    finally:
        h.close()


def test_oversized_password_is_never_hashed(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = run(hasher.hash("a normal password"))
    calls = _counting_scrypt(monkeypatch)
    huge = "x" * 2000
    start = time.perf_counter()
    assert run(hasher.verify(huge, encoded)) is False
    assert time.perf_counter() - start < 1.0
    with pytest.raises(ValueError):
        run(hasher.hash(huge))
    # 1024 bytes is the cap in UTF-8 bytes, not characters: 342 CJK chars = 1026 bytes
    with pytest.raises(ValueError):
        run(hasher.hash("密" * 342))
    assert calls == []
    assert run(hasher.verify_dummy(huge)) is None
    assert calls == []


def test_password_at_the_byte_cap_is_accepted(hasher: PasswordHasher) -> None:
    pw = "y" * 1024
    encoded = run(hasher.hash(pw))
    assert run(hasher.verify(pw, encoded)) is True


def test_invalid_constructor_params() -> None:
    with pytest.raises(ValueError):
        PasswordHasher(ScryptParams(n=1000))
    with pytest.raises(ValueError):
        PasswordHasher(FAST, max_pending=0)
