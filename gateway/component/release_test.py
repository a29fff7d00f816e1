"""WeChat's full-network release test (全网发布, WECHAT-COMPONENT.md §4.5): its test accounts send
TESTCOMPONENT_MSG_TYPE_TEXT (answered at once, passively and encrypted, with …_callback),
QUERY_AUTH_CODE:<code> (answered with an empty body; then, within seconds, the code exchanged and
"<code>_from_api" sent through the customer-service API with the authorizer's token), and in older
variants an event (answered "<Event>from_callback")."""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from gateway.component.events import PlatformCrypto
from gateway.component.lifecycle import AuthorizerLifecycle
from gateway.platform.clock import Clock
from gateway.wechat.api.client import WeChatHttp
from gateway.wechat.api.component import send_custom_text
from gateway.wechat.signed_query import SignedQuery
from gateway.wechat.xmlmsg import build_text_reply

log = logging.getLogger(__name__)

# Official accounts and mini programs of the five test groups.
TEST_ACCOUNTS = frozenset({
    "wx570bc396a51b8ff8", "wx9252c5e0bb1836fc", "wx8e1097c5bc82cde9", "wx14550af28c71a144", "wxa35b9c23cfe664eb",
    "wxd101a85aa106f53e", "wxc39235c15087f6f3", "wx7720d01d4b2a4500", "wx05d483572dcd5d8b", "wx5910277cae6fd970"})
TEXT_PROBE = "TESTCOMPONENT_MSG_TYPE_TEXT"
CODE_PREFIX = "QUERY_AUTH_CODE:"


class ReleaseTest:
    def __init__(self, crypto: PlatformCrypto, lifecycle: AuthorizerLifecycle, http: WeChatHttp,
                 clock: Clock) -> None:
        self.crypto, self.lifecycle, self.http, self.clock = crypto, lifecycle, http, clock
        self._tasks: set[asyncio.Task[Any]] = set()

    async def answer(self, query: SignedQuery, body: bytes, size: int) -> bytes:
        _, message = self.crypto.check(query, body, size)
        kind, content = message.get("MsgType", ""), message.get("Content", "")
        if kind == "text" and content == TEXT_PROBE:
            return self._reply(message, query, f"{TEXT_PROBE}_callback")
        if kind == "text" and content.startswith(CODE_PREFIX):
            code = content[len(CODE_PREFIX):]
            task = asyncio.ensure_future(self._answer_by_api(code, message.get("FromUserName", "")))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return b""
        if kind == "event" and message.get("Event"):
            return self._reply(message, query, f"{message['Event']}from_callback")
        return b"success"

    def _reply(self, message: dict[str, str], query: SignedQuery, text: str) -> bytes:
        xml = build_text_reply(message.get("FromUserName", ""), message.get("ToUserName", ""), text,
                               int(self.clock.now()))
        try:
            return self.crypto.crypto.encrypt_reply(xml, query.timestamp, query.nonce)
        except ValueError:
            return self.crypto.crypto.encrypt_reply(xml, str(int(self.clock.now())), secrets.token_hex(8))

    async def _answer_by_api(self, code: str, openid: str) -> None:
        try:
            auth = await self.lifecycle.exchange_once(code)
            await send_custom_text(self.http, auth.access_token, openid, f"{code}_from_api")
        except Exception as exc:
            log.warning("release test: the API answer failed: %s", type(exc).__name__)

    async def drain(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
