"""WeChat pushing to a tenant's callback URL without the simulator: `WeChat` builds the messages,
events and URL checks WeChat would send, signed (and encrypted in compat/safe mode) as WeChat
does, and reads the replies; `SpyInbox` is a fake inbox provider that counts, delays or fails."""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from gateway.callbacks.rulebook import RuleBook
from gateway.wechat.crypto import MessageCrypto, sha1_signature
from gateway.wechat.xmlmsg import build_message, parse_xml
from harness import RunningGateway, tenant_body
from tenants import MessageContext, Reply, Rule

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AES_KEY2 = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
OPENID = "oUser_0000000000000000000001"


class WeChat:
    """Builds the pushes WeChat would send to one tenant's callback, signed (and encrypted) as WeChat does."""

    def __init__(self, g: RunningGateway, slug: str, token: str, app_id: str, aes_key: str | None,
                 original_id: str, mode: str) -> None:
        self.g, self.slug, self.token, self.app_id = g, slug, token, app_id
        self.aes_key, self.original_id, self.mode = aes_key, original_id, mode
        self.path = f"/wx/{slug}/callback"
        self._msg_id = 7000000000000000000

    @classmethod
    async def create(cls, g: RunningGateway, slug: str = "acme", mode: str = "plain",
                     aes_key: str | None = None, **wechat: Any) -> "WeChat":
        if mode != "plain" and aes_key is None:
            aes_key = AES_KEY
        body = tenant_body(slug)["wechat"]
        body.update({"message_mode": mode, "encoding_aes_key": aes_key, **wechat})
        await g.create_tenant(slug, wechat=body)
        # Deterministic whatever inbox provider is installed: every openid unbound until a test says otherwise.
        g.gw.callbacks.inbox = SpyInbox(count=None)
        return cls(g, slug, body["token"], body["app_id"], aes_key, body["original_id"], mode)

    def now(self) -> str:
        return str(int(self.g.gw.clock.now()))

    def next_msg_id(self) -> int:
        self._msg_id += 1
        return self._msg_id

    def text(self, content: str, openid: str = OPENID, msg_id: int | None = None,
             create_time: int | None = None) -> dict[str, str | int]:
        return {"ToUserName": self.original_id, "FromUserName": openid,
                "CreateTime": create_time or int(self.g.gw.clock.now()), "MsgType": "text",
                "Content": content, "MsgId": msg_id or self.next_msg_id()}

    def event(self, event: str, key: str | None = None, openid: str = OPENID, create_time: int | None = None,
              **extra: str | int) -> dict[str, str | int]:
        fields: dict[str, str | int] = {"ToUserName": self.original_id, "FromUserName": openid,
                                        "CreateTime": create_time or int(self.g.gw.clock.now()),
                                        "MsgType": "event", "Event": event}
        if key is not None:
            fields["EventKey"] = key
        fields.update(extra)
        return fields

    def crypto(self, key: str | None = None, app_id: str | None = None, token: str | None = None) -> MessageCrypto:
        return MessageCrypto(token or self.token, key or self.aes_key or AES_KEY, app_id or self.app_id)

    def signed(self, fields: dict[str, str | int] | None = None, mode: str | None = None, ts: str | None = None,
               nonce: str = "1234567890", token: str | None = None, key: str | None = None,
               app_id: str | None = None, plaintext: bytes | None = None,
               encrypt: str | None = None) -> tuple[dict[str, str], bytes]:
        """The query and body of one push; `plaintext` or `encrypt` replace what would be encrypted."""
        mode = mode or self.mode
        ts = ts or self.now()
        token = token or self.token
        inner = plaintext if plaintext is not None else build_message(fields or {})
        query = {"signature": sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "openid": OPENID}
        if mode == "plain":
            return query, inner
        crypto = self.crypto(key, app_id, token)
        encrypt = encrypt if encrypt is not None else crypto.encrypt(inner)
        query.update(encrypt_type="aes", msg_signature=crypto.msg_signature(ts, nonce, encrypt))
        if mode == "compat":
            return query, build_message({**(fields or {}), "Encrypt": encrypt})
        return query, build_message({"ToUserName": self.original_id, "Encrypt": encrypt})

    async def send(self, query: dict[str, str], body: bytes) -> Any:
        return await self.g.request("POST", f"{self.path}?{urlencode(query)}", raw=body,
                                    headers={"Content-Type": "text/xml"})

    async def post(self, fields: dict[str, str | int], **kwargs: Any) -> Any:
        return await self.send(*self.signed(fields, **kwargs))

    async def verify(self, echostr: str = "5927782489442352469", ts: str | None = None, nonce: str = "486452656",
                     token: str | None = None) -> Any:
        ts = ts or self.now()
        query = {"signature": sha1_signature(token or self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                 "echostr": echostr}
        return await self.g.request("GET", f"{self.path}?{urlencode(query)}")

    def reply(self, response: Any, key: str | None = None) -> dict[str, str]:
        """The reply's fields; an encrypted reply is checked (MsgSignature) and decrypted first."""
        assert response.status == 200, (response.status, response.text)
        fields = parse_xml(response.body)
        if "Encrypt" not in fields:
            return fields
        crypto = self.crypto(key)
        expected = crypto.msg_signature(fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        assert fields["MsgSignature"] == expected
        return parse_xml(crypto.decrypt(fields["Encrypt"]))


class SpyInbox:
    """A fake inbox provider (gw.callbacks.inbox) that counts calls and can be slow or fail."""

    def __init__(self, count: int | None = 3, delay: float = 0.0, fail: bool = False) -> None:
        self.count, self.delay, self.fail = count, delay, fail
        self.calls: list[tuple[str, str]] = []
        self.finished = 0

    async def pending_count(self, tenant: Any, openid: str) -> int | None:
        self.calls.append((tenant.slug, openid))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("inbox exploded while reading 待办")
        self.finished += 1
        return self.count


async def _count_without_bound(ctx: MessageContext) -> Reply:
    count = await ctx.inbox.pending_count(ctx.tenant, ctx.openid)
    return ctx.text(f"您有 {count} 条待办")


def slow_rule(g: Any) -> None:
    """Text messages go to a rule whose own work (the spy inbox here) is slow: a tenant rule that
    calls out, unlike the built-in 待办 count, which answers within the callback's lookup bound."""
    g.gw.callbacks.rulebook = RuleBook(default=[Rule("slow_rule", _count_without_bound, msg_type="text")])
