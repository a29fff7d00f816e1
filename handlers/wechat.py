"""WeChat's server URL of each tenant (/wx/{slug}/callback): the GET handshake and the message
pushes, handed to the callback pipeline (gw.callbacks); signed by WeChat, so exempt from XSRF."""
from __future__ import annotations

import tornado.web

from gateway.callbacks.pipeline import CallbackResponse
from gateway.wechat.signed_query import SignedQuery
from gateway.wechat.xmlmsg import MAX_XML_BYTES
from handlers.base import JsonHandler


@tornado.web.stream_request_body
class CallbackHandler(JsonHandler):
    route_name = "wechat_callback"

    def check_xsrf_cookie(self) -> None:
        return None  # WeChat sends no cookies; the signature authenticates the request instead

    def prepare(self) -> None:
        super().prepare()
        self._chunks: list[bytes] = []
        self._size = 0

    def data_received(self, chunk: bytes) -> None:
        # Past the limit only the length is kept, so an oversized body is answered 413, not buffered.
        self._size += len(chunk)
        if self._size <= MAX_XML_BYTES:
            self._chunks.append(chunk)

    def _request_summary(self) -> str:
        # The access log gets the path only: the query carries signatures and the sender's openid.
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def _query(self) -> SignedQuery:
        def arg(name: str) -> str:
            return self.get_query_argument(name, "", strip=False) or ""
        return SignedQuery(signature=arg("signature"), timestamp=arg("timestamp"), nonce=arg("nonce"),
                             echostr=arg("echostr"), encrypt_type=arg("encrypt_type"),
                             msg_signature=arg("msg_signature"))

    def _send(self, response: CallbackResponse) -> None:
        self.set_header("Content-Type", response.content_type)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.finish(response.body)

    async def get(self, slug: str) -> None:
        self._send(await self.gw.callbacks.verify_url(slug, self._query()))

    async def post(self, slug: str) -> None:
        body = b"".join(self._chunks)
        self._send(await self.gw.callbacks.handle(slug, self._query(), body, self._size))


ROUTES = [
    (r"/wx/(?P<slug>[a-z0-9][a-z0-9-]{1,31})/callback", CallbackHandler),
]
