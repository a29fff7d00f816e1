"""All simulated WeChat state behind one object, plus the API dispatcher the HTTP layer calls."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from simulator.common import Clock, WxError, error_body
from simulator.component import ComponentSim
from simulator.menus import validate_menu
from simulator.models import App, User
from simulator.oauth import SCOPES, OAuthStore
from simulator.qrcodes import QrStore
from simulator.templates import TemplateStore
from simulator.tokens import TokenStore

Query = dict[str, str]
Handler = Callable[[Query, bytes], dict[str, Any]]
# An odd number of backslashes before "u" is a real JSON \uXXXX escape, which WeChat refuses.
_UNICODE_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")
_APPID_ENDPOINTS = ("cgi-bin/token", "cgi-bin/stable_token", "sns/oauth2/access_token", "connect/oauth2/authorize")


@dataclass
class Fault:
    endpoint: str
    errcode: int
    remaining: int
    app_id: str | None = None
    errmsg: str | None = None


@dataclass
class AuthorizeOutcome:
    """What the authorize page does: redirect with a code, show an error page, or ask who the user is."""

    kind: str  # "redirect" | "error" | "choose"
    location: str = ""
    errcode: int = 0
    message: str = ""
    openids: list[str] = field(default_factory=list)


def normalize_endpoint(endpoint: str) -> str:
    return endpoint.strip().strip("/")


class SimulatorState:
    """WeChat's back office for any number of accounts, with a movable clock and fault injection."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        if getattr(self, "component", None) is not None:
            self.component.stop_timer()
        self.clock = Clock()
        self.apps: dict[str, App] = {}
        self.users: dict[str, dict[str, User]] = {}
        self.current_user: dict[str, str] = {}
        self.menus: dict[str, dict[str, Any]] = {}
        self.tokens = TokenStore(self.clock)
        self.templates = TemplateStore(self.clock)
        self.oauth = OAuthStore(self.clock)
        self.qrcodes = QrStore(self.clock)
        self.chats: dict[tuple[str, str], list[dict[str, Any]]] = {}  # the simulated phone's chat log
        self.faults: list[Fault] = []
        self.latencies: dict[str, float] = {}
        self.calls: Counter[tuple[str, str | None]] = Counter()
        self._endpoints: dict[str, tuple[str, Handler]] = {
            "cgi-bin/token": ("GET", self._token),
            "cgi-bin/stable_token": ("POST", self._stable_token),
            "cgi-bin/ticket/getticket": ("GET", self._ticket),
            "cgi-bin/message/template/send": ("POST", self._template_send),
            "cgi-bin/menu/create": ("POST", self._menu_create),
            "cgi-bin/menu/get": ("GET", self._menu_get),
            "cgi-bin/menu/delete": ("GET", self._menu_delete),
            "cgi-bin/user/info": ("GET", self._user_info),
            "cgi-bin/qrcode/create": ("POST", self._qrcode_create),
            "sns/oauth2/access_token": ("GET", self._sns_access_token),
        }
        self.component = ComponentSim(self)  # the third-party platform side (simulator/component.py)
        self._endpoints.update(self.component.endpoints())

    # ---- clock -------------------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> float:
        return self.clock.advance(seconds)

    # ---- control -----------------------------------------------------------------------------------

    def add_app(self, app_id: str, **fields: Any) -> App:
        if not app_id:
            raise ValueError("app_id is required")
        app = self.apps.get(app_id)
        if app is None:
            app = self.apps[app_id] = App.create(app_id, **fields)
            self.users.setdefault(app_id, {})
        else:
            app.update(fields)
        return app

    def app(self, app_id: str) -> App:
        app = self.apps.get(app_id)
        if app is None:
            raise ValueError(f"unknown app {app_id!r}")
        return app

    def add_user(
        self,
        app_id: str,
        openid: str,
        subscribed: bool = True,
        snapshot: bool = False,
        unionid: str | None = None,
        nickname: str | None = None,
    ) -> User:
        self.app(app_id)
        if not openid:
            raise ValueError("openid is required")
        users = self.users.setdefault(app_id, {})
        user = users.get(openid)
        if user is None:
            user = users[openid] = User(openid)
        if subscribed and (not user.subscribed or not user.subscribe_time):
            user.subscribe_time = int(self.now())
        user.subscribed, user.snapshot = bool(subscribed), bool(snapshot)
        if unionid is not None:
            user.unionid = unionid
        if nickname is not None:
            user.nickname = str(nickname)
        return user

    def set_subscribed(self, app_id: str, openid: str, subscribed: bool) -> None:
        user = self.users.setdefault(app_id, {}).get(openid)
        if user is None:
            self.add_user(app_id, openid, subscribed=subscribed)
        else:
            self.add_user(app_id, openid, subscribed=subscribed, snapshot=user.snapshot)

    def set_current_user(self, app_id: str, openid: str | None) -> None:
        """The person "holding the phone" for this account; unknown openids become non-followers."""
        self.app(app_id)
        if not openid:
            self.current_user.pop(app_id, None)
            return
        if openid not in self.users.setdefault(app_id, {}):
            self.add_user(app_id, openid, subscribed=False)
        self.current_user[app_id] = openid

    def inject_fault(
        self,
        endpoint: str,
        errcode: int,
        count: int = 1,
        app_id: str | None = None,
        errmsg: str | None = None,
    ) -> None:
        if int(count) > 0:
            self.faults.append(Fault(normalize_endpoint(endpoint), int(errcode), int(count), app_id, errmsg))

    def set_latency(self, endpoint: str, seconds: float) -> None:
        if seconds <= 0:
            self.latencies.pop(normalize_endpoint(endpoint), None)
        else:
            self.latencies[normalize_endpoint(endpoint)] = float(seconds)

    def latency(self, endpoint: str) -> float:
        return self.latencies.get(normalize_endpoint(endpoint), 0.0)

    def invalidate_tokens(self, app_id: str) -> int:
        return self.tokens.invalidate(app_id)

    def call_counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (endpoint, app_id), count in sorted(self.calls.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            out.setdefault(endpoint, {})[app_id or ""] = count
        return out

    def call_count(self, endpoint: str, app_id: str | None = None) -> int:
        endpoint = normalize_endpoint(endpoint)
        if app_id is None:
            return sum(n for (e, _), n in self.calls.items() if e == endpoint)
        return self.calls[(endpoint, app_id)]

    # ---- API dispatch ------------------------------------------------------------------------------

    def is_api(self, endpoint: str) -> bool:
        return normalize_endpoint(endpoint) in self._endpoints

    def handle(self, endpoint: str, method: str, query: Query, body: bytes = b"") -> dict[str, Any]:
        """Answer one API call exactly as WeChat would: a JSON object, errors as errcode/errmsg."""
        endpoint = normalize_endpoint(endpoint)
        expected_method, handler = self._endpoints[endpoint]
        app_id = self._resolve_app_id(endpoint, query, body)
        self.calls[(endpoint, app_id)] += 1
        fault = self._take_fault(endpoint, app_id)
        if fault is not None:
            return error_body(fault.errcode, fault.errmsg)
        if expected_method == "POST" and method.upper() != "POST":
            return error_body(43002)
        try:
            return handler(query, body)
        except WxError as exc:
            return exc.body()

    def _resolve_app_id(self, endpoint: str, query: Query, body: bytes) -> str | None:
        if endpoint in _APPID_ENDPOINTS:
            app_id = query.get("appid")
            if endpoint == "cgi-bin/stable_token":
                try:
                    app_id = json.loads(body or b"{}").get("appid")
                except (ValueError, AttributeError):
                    app_id = None
            return app_id if isinstance(app_id, str) and app_id in self.apps else None
        return self.tokens.app_for(query.get("access_token", ""))

    def _take_fault(self, endpoint: str, app_id: str | None) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint == endpoint and fault.remaining > 0 and fault.app_id in (None, app_id):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _json(body: bytes, reject_escapes: bool = False) -> dict[str, Any]:
        if not body or not body.strip():
            raise WxError(44002)
        if reject_escapes and _UNICODE_ESCAPE.search(body):
            raise WxError(40033)
        try:
            data = json.loads(body)
        except ValueError:
            raise WxError(47001) from None
        if not isinstance(data, dict):
            raise WxError(47001)
        return data

    def _credentials(self, appid: Any, secret: Any, check_ip: bool = True) -> App:
        if not appid:
            raise WxError(41002)
        app = self.apps.get(str(appid))
        if app is None:
            raise WxError(40013)
        if not secret:
            raise WxError(41004)
        if secret != app.secret:
            raise WxError(40125)
        if check_ip and app.blocked_ip:
            ip = app.blocked_ip
            raise WxError(40164, f"invalid ip {ip} ipv6 ::ffff:{ip}, not in whitelist")
        return app

    def _app_by_token(self, query: Query) -> App:
        token = self.tokens.check(query.get("access_token"))
        return self.apps[token.app_id]

    def _token(self, query: Query, body: bytes) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            raise WxError(40002)
        app = self._credentials(query.get("appid"), query.get("secret"))
        return self.tokens.issue_classic(app)

    def _stable_token(self, query: Query, body: bytes) -> dict[str, Any]:
        data = self._json(body)
        if data.get("grant_type") != "client_credential":
            raise WxError(40002)
        app = self._credentials(data.get("appid"), data.get("secret"))
        force = data.get("force_refresh", False)
        if not isinstance(force, bool):
            raise WxError(40097)
        return self.tokens.issue_stable(app, force)

    def _ticket(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        return self.tokens.ticket(app.app_id, query.get("type", ""))

    def _template_send(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        data = self._json(body, reject_escapes=True)
        return self.templates.send(app, self.users.setdefault(app.app_id, {}), data)

    def _menu_create(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        self.menus[app.app_id] = validate_menu(self._json(body, reject_escapes=True))
        return {"errcode": 0, "errmsg": "ok"}

    def _qrcode_create(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        return self.qrcodes.create(app.app_id, self._json(body))

    def _menu_get(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        menu = self.menus.get(app.app_id)
        if menu is None:
            raise WxError(46003)
        return {"menu": menu}

    def _menu_delete(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        self.menus.pop(app.app_id, None)
        return {"errcode": 0, "errmsg": "ok"}

    def _user_info(self, query: Query, body: bytes) -> dict[str, Any]:
        app = self._app_by_token(query)
        openid = query.get("openid")
        if not openid:
            raise WxError(41009)
        user = self.users.get(app.app_id, {}).get(openid)
        if user is None:
            raise WxError(40003)
        if not user.subscribed:
            return {"subscribe": 0, "openid": openid, "tagid_list": []}
        info: dict[str, Any] = {
            "subscribe": 1,
            "openid": openid,
            "language": "zh_CN",
            "subscribe_time": user.subscribe_time,
            "remark": "",
            "groupid": 0,
            "tagid_list": [],
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        }
        if user.unionid:
            info["unionid"] = user.unionid
        return info

    def _sns_access_token(self, query: Query, body: bytes) -> dict[str, Any]:
        if query.get("grant_type") != "authorization_code":
            raise WxError(40002)
        app = self._credentials(query.get("appid"), query.get("secret"), check_ip=False)
        code = query.get("code")
        issued = self.oauth.codes.get(code or "")
        user = self.users.get(app.app_id, {}).get(issued.openid) if issued is not None else None
        return self.oauth.exchange(app.app_id, code, user)

    # ---- OAuth authorize page ----------------------------------------------------------------------

    def authorize(self, query: Query, chosen_openid: str | None = None) -> AuthorizeOutcome:
        """The phone opening WeChat's authorize URL: checks as WeChat does, then a code for the current user."""
        appid = query.get("appid", "")
        self.calls[("connect/oauth2/authorize", appid if appid in self.apps else None)] += 1
        if not appid or appid not in self.apps:
            return AuthorizeOutcome("error", errcode=10012, message="appid 参数错误 (invalid appid)")
        app = self.apps[appid]
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            return AuthorizeOutcome("error", errcode=10011, message="redirect_uri 参数错误")
        if not app.allows_redirect(redirect_uri):
            return AuthorizeOutcome("error", errcode=10003, message="redirect_uri 域名与后台配置不一致")
        if query.get("response_type") != "code":
            return AuthorizeOutcome("error", errcode=10010, message="response_type 参数错误 (must be code)")
        scope = query.get("scope", "")
        if not scope:
            return AuthorizeOutcome("error", errcode=10010, message="scope 参数错误")
        if scope not in SCOPES:
            return AuthorizeOutcome("error", errcode=10005, message="此公众号并没有这些scope的权限")
        state = query.get("state", "")
        if len(state.encode("utf-8")) > 128:
            return AuthorizeOutcome("error", errcode=10013, message="state 参数错误 (longer than 128 bytes)")
        component_appid = query.get("component_appid", "")
        if component_appid and not self.component.may_sign_in(component_appid, appid):
            return AuthorizeOutcome("error", errcode=10016, message="该第三方平台没有此公众号的网页授权权限")
        openid = chosen_openid or self.current_user.get(appid)
        if not openid:
            return AuthorizeOutcome("choose", openids=sorted(self.users.get(appid, {})))
        if openid not in self.users.setdefault(appid, {}):
            self.add_user(appid, openid, subscribed=False)
        code = self.oauth.issue_code(appid, openid, scope)
        params = {"code": code, "state": state, **({"appid": appid} if component_appid else {})}
        return AuthorizeOutcome("redirect", location=with_query(redirect_uri, params))


def with_query(url: str, params: dict[str, str]) -> str:
    """Append params after any existing query, keeping a fragment at the end."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
