"""The query parameters WeChat signs its calls to a server URL with (a tenant's callback URL and
the third-party platform's two URLs alike): all strings, empty when absent."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignedQuery:
    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    echostr: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""
