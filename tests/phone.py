"""A simulated phone for tests: one WeChat user's in-app browser with its own cookie jar, the XSRF
pair sent back on every write, OAuth through the WeChat simulator's authorize page, and sign-in
(entry → OAuth → login page → POST /api/login) the way the gateway's pages do it."""
from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote, urlsplit

import tornado.httpclient

from harness import Response
from simulator.client import SimulatorClient

XSRF = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
PASSWORD = "Tr0ub4dor&3x!"  # meets the default policy of tenant_body()


async def use_openid(sim: SimulatorClient, app_id: str, openid: str, snapshot: bool = False) -> None:
    """Make `openid` a (subscribed) user of the app and the one WeChat's authorize page answers for."""
    await sim.add_user(app_id, openid, snapshot=snapshot)
    await sim.set_current_user(app_id, openid)


@dataclass
class Phone:
    """One WeChat in-app browser talking to `requester` (a RunningGateway or a harness.Client):
    its own cookie jar, the `_xsrf` cookie and X-XSRFToken header on every write. `sim` and `app_id`
    (the simulator and the tenant's app) are needed only to sign in through OAuth."""
    requester: Any
    slug: str = "acme"
    sim: SimulatorClient | None = None
    app_id: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        jar = {"_xsrf": XSRF, **self.cookies}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), **self.headers, **(extra or {})}

    def absorb(self, response: Response) -> None:
        """Keep the cookies the gateway set, drop those it cleared."""
        for header in response.headers.get_list("Set-Cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if not morsel.value or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                      xsrf: bool = True) -> Response:
        hdrs = self._headers(headers)
        if xsrf and method not in ("GET", "HEAD"):
            hdrs["X-XSRFToken"] = self.cookies.get("_xsrf", XSRF)
        response: Response = await self.requester.request(method, path, body, headers=hdrs)
        self.absorb(response)
        return response

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None,
                   xsrf: bool = True) -> Response:
        return await self.request("POST", path, body if body is not None else {}, headers=headers, xsrf=xsrf)

    async def api(self, name: str, body: Any = None, **kw: Any) -> Response:
        return await self.post(f"/wx/{self.slug}/api/{name}", body, **kw)

    async def me(self) -> Response:
        return await self.get(f"/wx/{self.slug}/api/me")

    async def authorize(self, location: str) -> str:
        """Follow the gateway's redirect to the simulator's authorize page; returns the gateway path
        WeChat sends the browser back to (with code and state)."""
        url = location.split("#", 1)[0]
        client = tornado.httpclient.AsyncHTTPClient()
        answer = await client.fetch(url, follow_redirects=False, raise_error=False)
        assert answer.code == 302, answer.body
        back = urlsplit(answer.headers["Location"])
        return f"{back.path}?{back.query}"

    async def open_entry(self, next_page: str = "inbox") -> Response:
        """Entry → WeChat authorize → back to /oauth; returns the /oauth answer."""
        r = await self.get(f"/wx/{self.slug}/entry?next={quote(next_page, safe='')}")
        assert r.status == 302, r.text
        return await self.get(await self.authorize(r.headers["Location"]))

    async def use_openid(self, openid: str, snapshot: bool = False) -> None:
        assert self.sim is not None and self.app_id is not None, "this phone has no simulator"
        await use_openid(self.sim, self.app_id, openid, snapshot=snapshot)

    async def sign_in(self, login: str, password: str, openid: str | None = None,
                      bound_ok: bool = False) -> Response:
        """The whole first visit: OAuth as `openid` (else as the simulator's current user), then the
        login form. OAuth must lead to the login page unless `bound_ok` (an openid bound already is
        signed in by OAuth alone; the form is posted anyway). Returns the login answer."""
        if openid is not None:
            await self.use_openid(openid)
        r = await self.open_entry()
        assert r.status == 302, (r.status, r.text)
        assert bound_ok or "/login" in r.headers["Location"], r.headers["Location"]
        return await self.api("login", {"login": login, "password": password})


async def put_account(requester: Any, slug: str, api_key: str, login: str, password: str | None = PASSWORD,
                      **fields: Any) -> Response:
    """Create or update an employee account through the tenant API (no password if `password` is None)."""
    body = {"name": fields.pop("name", f"用户 {login}"), "kind": "employee", "position": "工程师", **fields}
    if password is not None:
        body["password"] = password
    r: Response = await requester.request("PUT", f"/api/v1/{slug}/accounts/{quote(login, safe='')}", body,
                                          token=api_key)
    assert r.status in (200, 201), r.text
    return r


async def sign_in(requester: Any, sim: SimulatorClient, app_id: str, slug: str, api_key: str, login: str,
                  openid: str | None = None, create: bool = True) -> Phone:
    """Create the account (unless `create` is false; named `login.title()`) and bind it to `openid`
    (default o_<login>) the way a phone does, also when bound already. Returns the signed-in phone."""
    if create:
        await put_account(requester, slug, api_key, login, name=login.title())
    phone = Phone(requester, slug, sim=sim, app_id=app_id)
    r = await phone.sign_in(login, PASSWORD, openid or f"o_{login}", bound_ok=True)
    assert r.status == 200, r.text
    return phone
