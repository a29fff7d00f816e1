"""Encrypts tenant secrets at rest with AES-GCM under the master key, each ciphertext bound
to its tenant (as associated data), and hashes API keys for lookup."""
from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class SecretError(Exception):
    """A sealed secret could not be opened (wrong key, wrong tenant, or tampered)."""


class SecretBox:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("master key must be 32 bytes")
        # Separate subkeys, so the encryption key is never used as an HMAC key too.
        self._aead = AESGCM(hmac.new(master_key, b"gateway/secrets/v1", hashlib.sha256).digest())
        self._lookup_key = hmac.new(master_key, b"gateway/lookup/v1", hashlib.sha256).digest()

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        if len(sealed) < 29 or sealed[:1] != _VERSION:
            raise SecretError("sealed secret is malformed")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], context.encode())
        except InvalidTag:
            raise SecretError("sealed secret does not open") from None

    def lookup_hash(self, value: str) -> str:
        """A keyed hash for finding a record by a high-entropy secret (API keys)."""
        return hmac.new(self._lookup_key, value.encode(), hashlib.sha256).hexdigest()
