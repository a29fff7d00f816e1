"""WeChat's two URLs of the third-party platform: the authorization-event URL
(/wx/component/events: verify tickets and authorization changes, answered `success`) and the
message URL of every authorizer (/wx/component/{appid}/callback, configured on the Open Platform
as /wx/component/$APPID$/callback): a connected tenant's messages go through the same callback
pipeline as a direct tenant's, under the platform's Token and key."""
from __future__ import annotations

import tornado.web

from gateway.callbacks.pipeline import CallbackResponse, MessageKeys
from gateway.component.release_test import TEST_ACCOUNTS
from gateway.platform.errors import NotFound
from gateway.wechat.crypto import check_signature
from handlers.base import OperatorHandler
from handlers.wechat import CallbackHandler


class _PlatformHandler(CallbackHandler):
    def _platform(self) -> None:
        if not self.gw.component.enabled:
            raise NotFound("the third-party platform is not configured")


@tornado.web.stream_request_body
class ComponentEventsHandler(_PlatformHandler):
    route_name = "component_events"

    async def post(self) -> None:  # type: ignore[override]
        self._platform()
        events = self.gw.component.events
        assert events is not None
        body = await events.handle(self._query(), b"".join(self._chunks), self._size)
        self._send(CallbackResponse(body))

    async def get(self) -> None:  # type: ignore[override]
        raise NotFound("WeChat pushes to this URL with POST")


@tornado.web.stream_request_body
class ComponentCallbackHandler(_PlatformHandler):
    route_name = "component_callback"

    def _keys(self, appid: str) -> tuple[str, MessageKeys] | None:
        tenant = self.gw.component.tenant_for(appid)
        if tenant is None:
            return None
        settings = self.gw.component.settings
        return tenant.slug, MessageKeys(settings.token, (settings.encoding_aes_key,), settings.app_id,
                                        safe_only=True, to_user=tenant.original_id)

    async def post(self, appid: str) -> None:  # type: ignore[override]
        self._platform()
        body = b"".join(self._chunks)
        found = self._keys(appid)
        if found is not None:
            slug, keys = found
            self._send(await self.gw.callbacks.handle(slug, self._query(), body, self._size, platform=keys))
            return
        component = self.gw.component
        assert component.release_test is not None and component.crypto is not None
        if appid in TEST_ACCOUNTS:
            self._send(CallbackResponse.reply(await component.release_test.answer(self._query(), body, self._size)))
            return
        # An authorizer not (or no longer) connected to a tenant: checked, acknowledged, dropped.
        component.crypto.check(self._query(), body, self._size)
        self._send(CallbackResponse(b"success"))

    async def get(self, appid: str) -> None:  # type: ignore[override]
        # WeChat is not known to verify this URL with echostr; answered for a connected tenant anyway.
        self._platform()
        found = self._keys(appid)
        if found is None:
            raise NotFound("no authorizer connected with this appid")
        settings = self.gw.component.settings
        query = self._query()
        if not check_signature(settings.token, query.signature, query.timestamp, query.nonce) or not query.echostr:
            raise tornado.web.HTTPError(403)
        self._send(CallbackResponse(query.echostr.encode()))


class ComponentStatusHandler(OperatorHandler):
    """GET /admin/api/component: the platform's state for the operator (no secret)."""

    async def get(self) -> None:
        self.write_json(await self.gw.component.status(self.gw.public_url))


ROUTES = [
    (r"/admin/api/component", ComponentStatusHandler),
    (r"/wx/component/events", ComponentEventsHandler),
    (r"/wx/component/(?P<appid>wx[0-9A-Za-z]{16})/callback", ComponentCallbackHandler),
]
