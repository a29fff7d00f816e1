"""The two baselines the callback benchmark compares the gateway with, each a one-process Tornado
server: `hello` (a bare hello-world handler) and `wechatpy` (a minimal callback handler on
wechatpy's WeChatCrypto: verify, decrypt, parse, keyword reply, encrypt; nothing stored).
Run as `python bench/baseline_servers.py hello|wechatpy PORT`; prints READY once listening."""
from __future__ import annotations

import asyncio
import sys

import tornado.web
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = "benchtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx62656e63682d7361"
KEYWORD, REPLY = "你好", "您好，这是自动回复。"


class Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("Hello, world")

    def post(self, *args: str) -> None:
        self.write("Hello, world")


class WeChatpyCallback(tornado.web.RequestHandler):
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    def post(self, *args: str) -> None:
        arg = self.get_query_argument
        timestamp, nonce = arg("timestamp"), arg("nonce")
        try:
            check_signature(TOKEN, arg("signature"), timestamp, nonce)
            xml = self.crypto.decrypt_message(self.request.body, arg("msg_signature"), timestamp, nonce)
        except InvalidSignatureException:
            raise tornado.web.HTTPError(403)
        message = parse_message(xml)
        if getattr(message, "content", None) != KEYWORD:
            self.write("success")
            return
        reply = create_reply(REPLY, message).render()
        self.set_header("Content-Type", "application/xml; charset=utf-8")
        self.write(self.crypto.encrypt_message(reply, nonce, timestamp))


async def main(kind: str, port: int) -> None:
    handler = Hello if kind == "hello" else WeChatpyCallback
    app = tornado.web.Application([(r"/wx/([a-z0-9-]+)/callback", handler), (r"/", Hello)])
    app.listen(port, "127.0.0.1")
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
