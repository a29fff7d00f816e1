"""scrypt password hashing off the event loop, on cores-1 low-priority threads behind a bounded,
fair queue (gateway.accounts.hash_queue).

Stored format: ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` (standard base64 with padding).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import functools
import os
from dataclasses import dataclass

from gateway.accounts.hash_queue import HashQueue, QueueFull, Requester, default_workers

__all__ = [
    "BUSY_MESSAGE",
    "HasherOverloaded",
    "MAX_PASSWORD_BYTES",
    "PRODUCTION_PARAMS",
    "PasswordHasher",
    "Requester",
    "ScryptParams",
]

MAX_PASSWORD_BYTES = 1024
SALT_BYTES = 16
HASH_BYTES = 32
_PREFIX = "scrypt"
# hashlib.scrypt refuses maxmem above INT_MAX; 1 GiB also stops a tampered stored hash from
# asking for absurd memory.
_MAX_MEM = 1 << 30


@dataclass(frozen=True)
class ScryptParams:
    n: int = 2**17
    r: int = 8
    p: int = 1

    def maxmem(self) -> int:
        return 128 * self.r * self.n * self.p * 2 + (1 << 20)

    def is_valid(self) -> bool:
        return (
            self.n > 1
            and self.n & (self.n - 1) == 0
            and 1 <= self.r <= 64
            and 1 <= self.p <= 16
            and self.maxmem() <= _MAX_MEM
        )


PRODUCTION_PARAMS = ScryptParams()
BUSY_MESSAGE = "the server is busy checking passwords; try again in a few seconds"


class HasherOverloaded(Exception):
    """Too many hashes are running or queued (in all, or for this IP or tenant); answer 503 `busy`
    instead of waiting."""


@dataclass(frozen=True)
class _Parsed:
    params: ScryptParams
    salt: bytes
    digest: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _parse(encoded: object) -> _Parsed | None:
    if not isinstance(encoded, str) or not encoded.isascii():
        return None
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != _PREFIX:
        return None
    numbers = parts[1:4]
    if not all(s.isdigit() and len(s) <= 10 for s in numbers):
        return None
    params = ScryptParams(int(numbers[0]), int(numbers[1]), int(numbers[2]))
    if not params.is_valid():
        return None
    try:
        salt = _unb64(parts[4])
        digest = _unb64(parts[5])
    except (binascii.Error, ValueError):
        return None
    if not 8 <= len(salt) <= 64 or not 16 <= len(digest) <= 64:
        return None
    return _Parsed(params, salt, digest)


def _password_bytes(password: str) -> bytes | None:
    """UTF-8 bytes of the password as typed, or None when it cannot be hashed."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_BYTES:
        return None
    try:
        data = password.encode("utf-8")  # lone surrogates are refused, not mangled
    except UnicodeEncodeError:
        return None
    return data if len(data) <= MAX_PASSWORD_BYTES else None


def _kdf(secret: bytes, salt: bytes, params: ScryptParams, dklen: int) -> bytes:
    return hashlib.scrypt(
        secret, salt=salt, n=params.n, r=params.r, p=params.p, maxmem=params.maxmem(), dklen=dklen
    )


class PasswordHasher:
    """Hashes and verifies passwords with scrypt on cores-1 threads, never on the loop."""

    def __init__(self, params: ScryptParams = PRODUCTION_PARAMS, max_workers: int | None = None,
                 max_pending: int = 64, ip_share: int | None = None, tenant_share: int | None = None) -> None:
        if not params.is_valid():
            raise ValueError(f"unusable scrypt parameters: {params}")
        self.params = params
        self.max_pending = max_pending
        self.queue = HashQueue(max_workers or default_workers(), max_pending, ip_share, tenant_share)
        # Random salt and digest with our own params: verifying against it costs one real KDF
        # run and can never succeed.
        self._dummy = self._encode(params, os.urandom(SALT_BYTES), os.urandom(HASH_BYTES))

    @property
    def pending(self) -> int:
        """Hashes running or queued right now."""
        return self.queue.pending

    @staticmethod
    def _encode(params: ScryptParams, salt: bytes, digest: bytes) -> str:
        return f"{_PREFIX}${params.n}${params.r}${params.p}${_b64(salt)}${_b64(digest)}"

    async def _run(self, secret: bytes, salt: bytes, params: ScryptParams, dklen: int,
                   requester: Requester | None) -> bytes:
        try:
            fut = self.queue.submit(requester or Requester(),
                                    functools.partial(_kdf, secret, salt, params, dklen))
        except QueueFull as exc:
            raise HasherOverloaded(str(exc)) from None
        fut.add_done_callback(_retrieve)
        # Shielded so that a cancelled caller keeps its place until the thread really finishes.
        return await asyncio.shield(fut)

    async def hash(self, password: str, requester: Requester | None = None) -> str:
        """Raises ValueError for a password over 1024 UTF-8 bytes, HasherOverloaded when busy."""
        secret = _password_bytes(password)
        if secret is None:
            raise ValueError(f"password must be a str of at most {MAX_PASSWORD_BYTES} UTF-8 bytes")
        salt = os.urandom(SALT_BYTES)
        digest = await self._run(secret, salt, self.params, HASH_BYTES, requester)
        return self._encode(self.params, salt, digest)

    async def verify(self, password: str, encoded: str, requester: Requester | None = None) -> bool:
        """False for a wrong password or a malformed hash; HasherOverloaded when busy."""
        secret = _password_bytes(password)
        parsed = _parse(encoded)
        if secret is None or parsed is None:
            return False
        try:
            digest = await self._run(secret, parsed.salt, parsed.params, len(parsed.digest), requester)
        except ValueError:
            return False
        return hmac.compare_digest(digest, parsed.digest)

    def needs_rehash(self, encoded: str) -> bool:
        parsed = _parse(encoded)
        return parsed is None or parsed.params != self.params or len(parsed.salt) < SALT_BYTES

    async def verify_dummy(self, password: str, requester: Requester | None = None) -> None:
        """Spend the work of one verify, for unknown logins, so timing matches a wrong password."""
        await self.verify(password, self._dummy, requester)

    def close(self) -> None:
        self.queue.close()


def _retrieve(fut: "asyncio.Future[bytes]") -> None:
    """Mark the outcome as seen when the caller was cancelled meanwhile (no 'never retrieved' noise)."""
    if not fut.cancelled():
        fut.exception()
