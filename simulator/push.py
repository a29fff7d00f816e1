"""The phone side: build signed (and encrypted) pushes exactly as WeChat sends them, and judge replies."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from gateway.wechat.crypto import CryptoError, MessageCrypto, sha1_signature
from gateway.wechat.xmlmsg import XmlError, build_message, parse_xml
from simulator.common import random_int64
from simulator.models import MESSAGE_MODES, App

PUSH_TIMEOUT = 5.0  # WeChat gives up on a callback after 5 seconds


@dataclass
class PushRequest:
    url: str
    query: dict[str, str]
    body: bytes
    method: str = "POST"

    def full_url(self) -> str:
        return f"{self.url}{'&' if '?' in self.url else '?'}{urlencode(self.query)}" if self.query else self.url

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "method": self.method, "query": dict(self.query), "body": self.body.decode("utf-8")}


@dataclass
class Delivery:
    status: int
    body: bytes
    error: str | None
    attempts: int


def new_nonce() -> str:
    return str(secrets.randbelow(9 * 10**9) + 10**9)


def message_fields(
    app: App,
    openid: str,
    msg_type: str,
    content: str | None = None,
    event: str | None = None,
    event_key: str | None = None,
    extra: dict[str, Any] | None = None,
    msg_id: int | str | None = None,
    create_time: int | None = None,
) -> dict[str, str | int]:
    """The plaintext fields of a user message or event, in WeChat's order."""
    fields: dict[str, str | int] = {
        "ToUserName": app.original_id,
        "FromUserName": openid,
        "CreateTime": int(create_time if create_time is not None else time.time()),
        "MsgType": msg_type,
    }
    if msg_type == "event":
        if not event:
            raise ValueError("event pushes need an event name")
        fields["Event"] = event
        if event_key is not None:
            fields["EventKey"] = event_key
    elif msg_type == "text":
        fields["Content"] = content or ""
    for name, value in (extra or {}).items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"extra field {name!r} must be a string or number")
        fields[name] = value if isinstance(value, int) else str(value)
    if msg_type != "event" and "MsgId" not in fields:
        fields["MsgId"] = int(msg_id) if msg_id is not None else random_int64()
    return fields


def build_push(
    app: App,
    fields: dict[str, str | int],
    mode: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    url: str | None = None,
) -> PushRequest:
    """Sign and, in compat/safe mode, encrypt the message; the query order matches WeChat's."""
    mode = mode or app.message_mode
    if mode not in MESSAGE_MODES:
        raise ValueError(f"mode must be one of {MESSAGE_MODES}")
    target = url or app.callback_url
    if not target:
        raise ValueError(f"app {app.app_id!r} has no callback_url")
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or new_nonce()
    plaintext = build_message(fields)
    query = {
        "signature": sha1_signature(app.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": str(fields["FromUserName"]),
    }
    if mode == "plain":
        return PushRequest(target, query, plaintext)
    crypto = MessageCrypto(app.token, app.encoding_aes_key, app.app_id)
    encrypt = crypto.encrypt(plaintext)
    query["encrypt_type"] = "aes"
    query["msg_signature"] = crypto.msg_signature(timestamp, nonce, encrypt)
    if mode == "compat":
        body = build_message({**fields, "Encrypt": encrypt})
    else:
        body = build_message({"ToUserName": app.original_id, "Encrypt": encrypt})
    return PushRequest(target, query, body)


def build_verify(app: App, echostr: str | None = None, url: str | None = None) -> PushRequest:
    """The GET handshake WeChat sends when the admin saves the callback URL."""
    target = url or app.callback_url
    if not target:
        raise ValueError(f"app {app.app_id!r} has no callback_url")
    timestamp, nonce = str(int(time.time())), new_nonce()
    query = {
        "signature": sha1_signature(app.token, timestamp, nonce),
        "echostr": echostr or str(random_int64()),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return PushRequest(target, query, b"", method="GET")


async def deliver(request: PushRequest, timeout: float = PUSH_TIMEOUT, attempts: int = 1) -> Delivery:
    """Send the request; like WeChat, re-send the same bytes when no answer came in time."""
    headers = {"User-Agent": "Mozilla/4.0", "Accept": "*/*", "Pragma": "no-cache"}
    if request.method == "POST":
        headers["Content-Type"] = "text/xml"
    client = AsyncHTTPClient()
    response = None
    tries = 0
    for tries in range(1, max(1, attempts) + 1):
        response = await client.fetch(
            HTTPRequest(
                request.full_url(),
                method=request.method,
                headers=headers,
                body=request.body if request.method == "POST" else None,
                connect_timeout=timeout,
                request_timeout=timeout,
                follow_redirects=False,
            ),
            raise_error=False,
        )
        if response.code != 599:
            break
    assert response is not None
    error = str(response.error) if response.code == 599 else None
    return Delivery(response.code, response.body or b"", error, tries)


def inspect_reply(app: App, mode: str, openid: str, status: int, body: bytes) -> dict[str, Any]:
    """What WeChat makes of the reply: fields (decrypted if need be) and whether the user would see it."""
    result: dict[str, Any] = {
        "reply": {},
        "reply_encrypted": False,
        "reply_signature_ok": None,
        "reply_valid": True,
        "reply_error": None,
    }

    def invalid(reason: str) -> dict[str, Any]:
        result["reply_valid"], result["reply_error"] = False, reason
        return result

    if status != 200:
        return invalid(f"HTTP status {status}")
    if body.strip() in (b"", b"success"):
        return result
    try:
        fields = parse_xml(body)
    except XmlError:
        return invalid("reply is neither an ack nor XML")
    if "Encrypt" in fields:
        result["reply_encrypted"] = True
        crypto = MessageCrypto(app.token, app.encoding_aes_key, app.app_id)
        expected = crypto.msg_signature(fields.get("TimeStamp", ""), fields.get("Nonce", ""), fields["Encrypt"])
        signature_ok = hmac.compare_digest(expected.encode(), fields.get("MsgSignature", "").encode())
        result["reply_signature_ok"] = signature_ok
        try:
            fields = parse_xml(crypto.decrypt(fields["Encrypt"]))
        except (CryptoError, XmlError):
            result["reply_signature_ok"] = False
            return invalid("encrypted reply does not decrypt for this app")
        result["reply"] = fields
        if not signature_ok:
            return invalid("reply MsgSignature does not match")
        if mode == "plain":
            return invalid("encrypted reply to a plaintext-mode account")
    else:
        result["reply"] = fields
        if mode == "safe":
            return invalid("safe mode requires an encrypted reply")
    if fields.get("ToUserName") != openid or fields.get("FromUserName") != app.original_id:
        return invalid("reply ToUserName/FromUserName are not swapped from the request")
    if not fields.get("MsgType") or not fields.get("CreateTime"):
        return invalid("reply lacks MsgType or CreateTime")
    return result
