"""WeChat signatures and safe-mode message encryption.

Implements the sha1 callback/JS-SDK signatures and the AES-256-CBC message format of WECHAT.md §2.2.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CryptoError",
    "MessageCrypto",
    "check_signature",
    "decode_aes_key",
    "decrypt_with_any",
    "is_valid_aes_key",
    "jssdk_signature",
    "sha1_signature",
]

_PAD_BLOCK = 32  # WeChat pads to 32 bytes, not the AES block size of 16
_RANDOM_LEN = 16
_HEADER_LEN = _RANDOM_LEN + 4
_AES_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,20}")
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_GENERIC_MESSAGE = "invalid encrypted message"


class CryptoError(Exception):
    """Any signature, key or decryption failure; never carries key material."""


def sha1_signature(*parts: str) -> str:
    """Lowercase sha1 hex of the parts sorted lexicographically and joined without separator."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _digest_equal(expected: str, received: str) -> bool:
    # Compare as bytes: hmac.compare_digest raises TypeError on non-ASCII str input.
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Verify the plain `signature` query parameter (URL verification and every push)."""
    if not (token and signature and timestamp and nonce):
        return False
    return _digest_equal(sha1_signature(token, timestamp, nonce), signature)


def jssdk_signature(ticket: str, noncestr: str, timestamp: str | int, url: str) -> str:
    """JS-SDK `wx.config` signature; the URL fragment is dropped as the spec requires."""
    page_url = url.split("#", 1)[0]
    string1 = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page_url}"
    return hashlib.sha1(string1.encode("utf-8")).hexdigest()


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """Turn a 43-char EncodingAESKey into the 32-byte AES key."""
    if not isinstance(encoding_aes_key, str) or not _AES_KEY_RE.fullmatch(encoding_aes_key):
        raise CryptoError("invalid EncodingAESKey")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise CryptoError("invalid EncodingAESKey")
    return key


def is_valid_aes_key(encoding_aes_key: str) -> bool:
    try:
        decode_aes_key(encoding_aes_key)
    except CryptoError:
        return False
    return True


def _pad(data: bytes) -> bytes:
    n = _PAD_BLOCK - len(data) % _PAD_BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    n = data[-1]
    if not 1 <= n <= _PAD_BLOCK or data[-n:] != bytes([n]) * n:
        raise CryptoError(_GENERIC_MESSAGE)
    return data[:-n]


class MessageCrypto:
    """Safe-mode encrypt/decrypt and msg_signature for one account and one EncodingAESKey."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        app_id: str,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not token or not app_id:
            raise CryptoError("invalid crypto configuration")
        self._key = decode_aes_key(encoding_aes_key)
        self._aes = algorithms.AES(self._key)  # the key schedule object, reused by every cipher
        self._iv = self._key[:16]
        self.token = token
        self.app_id = app_id
        self._app_id_bytes = app_id.encode("utf-8")
        self._random_bytes = random_bytes

    def __repr__(self) -> str:
        return f"MessageCrypto(app_id={self.app_id!r})"

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(self._aes, modes.CBC(self._iv))

    def msg_signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sha1_signature(self.token, timestamp, nonce, encrypt)

    def check_msg_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        if not (msg_signature and timestamp and nonce and encrypt):
            return False
        return _digest_equal(self.msg_signature(timestamp, nonce, encrypt), msg_signature)

    def encrypt(self, plaintext: bytes) -> str:
        """Return the base64 `Encrypt` value for `plaintext` (the inner XML bytes)."""
        prefix = self._random_bytes(_RANDOM_LEN)
        if len(prefix) != _RANDOM_LEN:
            raise ValueError("random_bytes must return exactly 16 bytes")
        full = prefix + struct.pack(">I", len(plaintext)) + plaintext + self._app_id_bytes
        encryptor = self._cipher().encryptor()
        ciphertext = encryptor.update(_pad(full)) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """Return the inner message bytes; any malformation or AppID mismatch raises CryptoError."""
        ciphertext = self._b64decode(encrypt)
        if not ciphertext or len(ciphertext) % _PAD_BLOCK:
            raise CryptoError(_GENERIC_MESSAGE)
        decryptor = self._cipher().decryptor()
        content = _unpad(decryptor.update(ciphertext) + decryptor.finalize())
        if len(content) < _HEADER_LEN:
            raise CryptoError(_GENERIC_MESSAGE)
        (msg_len,) = struct.unpack(">I", content[_RANDOM_LEN:_HEADER_LEN])
        msg_end = _HEADER_LEN + msg_len
        if msg_end > len(content):
            raise CryptoError(_GENERIC_MESSAGE)
        if not hmac.compare_digest(content[msg_end:], self._app_id_bytes):
            raise CryptoError(_GENERIC_MESSAGE)
        return content[_HEADER_LEN:msg_end]

    @staticmethod
    def _b64decode(encrypt: str) -> bytes:
        try:
            return base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise CryptoError(_GENERIC_MESSAGE) from None

    def encrypt_reply(self, reply_xml: bytes, timestamp: str, nonce: str) -> bytes:
        """Wrap a passive reply in the encrypted envelope of WECHAT.md §2.3 (wechatpy layout)."""
        # Both values are written into XML, so refuse anything that could break out of it.
        if not _TIMESTAMP_RE.fullmatch(timestamp) or not _NONCE_RE.fullmatch(nonce):
            raise ValueError("timestamp must be digits and nonce alphanumeric")
        encrypt = self.encrypt(reply_xml)
        signature = self.msg_signature(timestamp, nonce, encrypt)
        return (
            "<xml>\n"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n"
            f"<TimeStamp>{timestamp}</TimeStamp>\n"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>\n"
            "</xml>"
        ).encode("utf-8")


def decrypt_with_any(cryptos: Sequence[MessageCrypto], encrypt: str) -> tuple[bytes, MessageCrypto]:
    """Try each crypto in order (current key first, then previous); return plaintext and the one that worked."""
    for crypto in cryptos:
        try:
            return crypto.decrypt(encrypt), crypto
        except CryptoError:
            continue
    raise CryptoError(_GENERIC_MESSAGE)
