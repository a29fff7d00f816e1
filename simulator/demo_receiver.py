"""The demo tenant's business system, as far as the demo needs one: a webhook receiver that checks
each event's Standard Webhooks signature and lists what arrived on a page, and the desktop's "bind by
scanning" button (a bind-qr call)."""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import tornado.httpserver
import tornado.netutil
import tornado.web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

_TYPES = {"document.decision": "审批结果", "account.bound": "微信绑定", "account.unbound": "解除绑定",
          "account.registered": "注册申请", "document.commented": "评论"}
_DECISIONS = {"approve": "同意", "reject": "驳回"}


@dataclass
class Received:
    event: dict[str, Any]
    signature_ok: bool
    webhook_id: str


@dataclass
class Receiver:
    """Events as received, newest last."""
    secret: str
    # The desktop's "bind by scanning": POST bind-qr for a login, answered with the code.
    make_code: Callable[[str], Awaitable[dict[str, Any]]] | None = None
    received: list[Received] = field(default_factory=list)
    codes: list[dict[str, Any]] = field(default_factory=list)

    def verify(self, body: bytes, headers: dict[str, str]) -> tuple[dict[str, Any], bool]:
        try:
            return Webhook(self.secret).verify(body, headers), True
        except WebhookVerificationError:
            try:
                return json.loads(body), False
            except ValueError:
                return {}, False


class HookHandler(tornado.web.RequestHandler):
    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def check_xsrf_cookie(self) -> None:
        return None

    async def post(self) -> None:
        headers = {k.lower(): v for k, v in self.request.headers.items()}
        event, ok = self.receiver.verify(self.request.body, headers)
        webhook_id = headers.get("webhook-id", "")
        if any(r.webhook_id == webhook_id and r.signature_ok for r in self.receiver.received) and ok:
            self.set_status(204)  # a retry of an event already handled: dedupe by id
            return
        self.receiver.received.append(Received(event, ok, webhook_id))
        if not ok:
            self.set_status(400)
            return
        self.set_status(204)


class BindQrHandler(tornado.web.RequestHandler):
    """The desktop of the person signed in to the business system asks for a bind QR code."""

    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    async def post(self) -> None:
        if self.receiver.make_code is not None:
            self.receiver.codes.append(await self.receiver.make_code(self.get_body_argument("login", "zhangsan")))
        self.redirect("/")


class PageHandler(tornado.web.RequestHandler):
    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    def _desktop(self) -> str:
        if self.receiver.make_code is None:
            return ""
        code = self.receiver.codes[-1] if self.receiver.codes else None
        shown = ""
        if code is not None:
            shown = (f'<div class="qr"><img src="{html.escape(code["image_url"])}" alt="绑定二维码" width="200">'
                     f'<p>用微信扫一扫（有效期 10 分钟）。在模拟手机上，把下面的网址粘贴到「扫一扫」：</p>'
                     f'<input readonly id="qr-url" value="{html.escape(code["qr_url"])}" size="48"></div>')
        return ('<h2>电脑端：扫码绑定微信</h2><p>已登录业务系统的张三，可以不在手机上输入密码，'
                '直接扫码把微信绑定到自己的账号。</p><form method="post" action="/bind-qr">'
                '<input type="hidden" name="login" value="zhangsan"><button type="submit">为 张三 生成绑定二维码</button>'
                f'</form>{shown}')

    def get(self) -> None:
        rows = []
        for item in reversed(self.receiver.received):
            event, data = item.event, item.event.get("data") or {}
            kind = _TYPES.get(str(event.get("type")), str(event.get("type")))
            if event.get("type") == "document.decision":
                what = (f"{data.get('login', '')} 对单据 {data.get('doc_id', '')} 的决定：" +
                        _DECISIONS.get(str(data.get("decision")), str(data.get("decision"))) +
                        (f"，意见：{data['comment']}" if data.get("comment") else ""))
            else:
                what = json.dumps(data, ensure_ascii=False)
            badge = ('<span class="ok">✓ 签名有效</span>' if item.signature_ok
                     else '<span class="bad">✗ 签名无效（已拒收）</span>')
            rows.append(f"<tr><td>{html.escape(str(event.get('created_at', '')))}</td><td>{html.escape(kind)}</td>"
                        f"<td>{html.escape(what)}</td><td>{badge}<br><small>{html.escape(item.webhook_id)}"
                        f"</small></td></tr>")
        body = "".join(rows) or '<tr><td colspan="4">还没有收到事件。在模拟手机上完成一次审批后，这里会出现“审批结果”。</td></tr>'
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(_PAGE.format(rows=body, desktop=self._desktop()))


_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5"><title>业务系统 · 收到的事件</title>
<style>body{{font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#111}}
table{{border-collapse:collapse;width:100%;max-width:1000px}}td,th{{border:1px solid #ddd;padding:8px;text-align:left;
vertical-align:top;font-size:14px}}th{{background:#f5f5f5}}.ok{{color:#067647;font-weight:600}}.bad{{color:#b42318}}
small{{color:#888}}button{{background:#07c160;color:#fff;border:0;border-radius:6px;padding:8px 14px;font-size:14px}}
.qr{{margin:12px 0 24px}}</style></head><body>
<h1>演示业务系统</h1>
{desktop}
<h2>收到的 Webhook 事件</h2>
<p>网关把每个事件按 Standard Webhooks 规范签名后推送到这里；本页用租户的 webhook 密钥验证签名（每 5 秒刷新）。</p>
<table><tr><th>时间</th><th>事件</th><th>内容</th><th>签名</th></tr>{rows}</table></body></html>"""


async def start_receiver(host: str, receiver: Receiver) -> tuple[tornado.httpserver.HTTPServer, int]:
    """Serve POST /hook and the page GET / on a free port of `host`."""
    app = tornado.web.Application([(r"/hook", HookHandler, {"receiver": receiver}),
                                   (r"/bind-qr", BindQrHandler, {"receiver": receiver}),
                                   (r"/", PageHandler, {"receiver": receiver})])
    sockets = tornado.netutil.bind_sockets(0, host)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]
