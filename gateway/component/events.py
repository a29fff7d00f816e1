"""The authorization-event URL (/wx/component/events): WeChat's pushes to the platform, always in
safe mode under the platform's Token and key, with the platform's AppID in the envelope and inside:
component_verify_ticket every 10 minutes, and authorized / updateauthorized / unauthorized. Every
accepted push is answered with exactly `success`."""
from __future__ import annotations

import logging
import time

from gateway.component.lifecycle import AuthorizerLifecycle
from gateway.component.tickets import TicketStore
from gateway.platform.clock import Clock
from gateway.platform.config import ComponentSettings
from gateway.platform.errors import Forbidden, Invalid, TooLarge
from gateway.wechat.api.errors import WeChatError
from gateway.wechat.crypto import CryptoError, MessageCrypto, check_signature
from gateway.wechat.signed_query import SignedQuery
from gateway.wechat.xmlmsg import MAX_XML_BYTES, XmlError, parse_xml

log = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
SUCCESS = b"success"


class PlatformCrypto:
    """Checks and opens what WeChat sends the platform (both of its URLs)."""

    def __init__(self, settings: ComponentSettings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.crypto = MessageCrypto(settings.token, settings.encoding_aes_key, settings.app_id)

    def check(self, query: SignedQuery, body: bytes, size: int) -> tuple[dict[str, str], dict[str, str]]:
        """(outer envelope, decrypted message); Forbidden, Invalid or TooLarge when refused."""
        if size > MAX_XML_BYTES:
            raise TooLarge(f"the body is larger than {MAX_XML_BYTES} bytes", {"limit": MAX_XML_BYTES})
        if not check_signature(self.settings.token, query.signature, query.timestamp, query.nonce):
            raise Forbidden("the signature is not valid")
        if not query.timestamp.isdigit() or len(query.timestamp) > 12 or \
                abs(self.clock.now() - int(query.timestamp)) > MAX_SKEW_SECONDS:
            raise Forbidden("the timestamp is more than 300 seconds off")
        if query.encrypt_type.lower() != "aes":
            raise Forbidden("the platform accepts encrypted messages only")
        try:
            outer = parse_xml(body)
        except XmlError:
            raise Invalid("the body is not an acceptable WeChat XML message") from None
        encrypt = outer.get("Encrypt", "")
        if not self.crypto.check_msg_signature(query.msg_signature, query.timestamp, query.nonce, encrypt):
            raise Forbidden("the msg_signature is not valid")
        try:
            inner = parse_xml(self.crypto.decrypt(encrypt))
        except (CryptoError, XmlError):
            raise Forbidden("the message does not decrypt for this platform") from None
        return outer, inner


class ComponentEvents:
    def __init__(self, settings: ComponentSettings, crypto: PlatformCrypto, tickets: TicketStore,
                 lifecycle: AuthorizerLifecycle) -> None:
        self.settings, self.crypto, self.tickets, self.lifecycle = settings, crypto, tickets, lifecycle

    async def handle(self, query: SignedQuery, body: bytes, size: int) -> bytes:
        outer, push = self.crypto.check(query, body, size)
        if outer.get("AppId", self.settings.app_id) != self.settings.app_id or push.get("AppId") != self.settings.app_id:
            raise Forbidden("the push is for another platform")
        kind = push.get("InfoType", "")
        started = time.perf_counter()
        if kind == "component_verify_ticket":
            ticket = push.get("ComponentVerifyTicket", "")
            created = push.get("CreateTime", "")
            if not ticket or not created.isdigit():
                raise Invalid("the ticket push lacks ComponentVerifyTicket or CreateTime")
            await self.tickets.save(ticket, float(created))
        elif kind in ("authorized", "updateauthorized"):
            code = push.get("AuthorizationCode", "")
            if not code:
                raise Invalid("the authorization push lacks AuthorizationCode")
            try:
                await self.lifecycle.authorized(code)
            except WeChatError as exc:  # the console's redirect can still finish it
                log.warning("authorization push of %s not exchanged: errcode %s",
                            push.get("AuthorizerAppid", "?"), exc.errcode)
        elif kind == "unauthorized":
            appid = push.get("AuthorizerAppid", "")
            if appid:
                await self.lifecycle.unauthorized(appid)
        else:
            log.info("platform push %r ignored", kind[:40])
        log.info("platform push %s handled in %.0f ms", kind[:40], 1000 * (time.perf_counter() - started))
        return SUCCESS
