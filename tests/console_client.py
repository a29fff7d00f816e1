"""A browser-like client of the console for HTTP tests: keeps cookies, sends forms with the
_xsrf token the page set, follows nothing by itself. Also signs in the operator or a tenant
administrator (changing the first password)."""
from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from harness import OPERATOR_TOKEN, Response, RunningGateway

NEW_PASSWORD = "Console#Admin2026"


class ConsoleClient:
    def __init__(self, g: RunningGateway) -> None:
        self.g = g
        self.cookies: dict[str, str] = {}

    def _remember(self, response: Response) -> None:
        for header in response.headers.get_list("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or "1970" in (morsel["expires"] or ""):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    async def get(self, path: str) -> Response:
        response = await self.g.request("GET", path, headers=self._headers())
        self._remember(response)
        return response

    async def post(self, path: str, fields: dict[str, Any] | list[tuple[str, str]] | None = None,
                   xsrf: bool = True) -> Response:
        if "_xsrf" not in self.cookies:
            await self.get("/console/login")
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields or [])
        if xsrf:
            pairs.append(("_xsrf", self.cookies.get("_xsrf", "")))
        body = urlencode(pairs).encode()
        response = await self.g.request("POST", path, raw=body, headers=self._headers(
            {"Content-Type": "application/x-www-form-urlencoded"}))
        self._remember(response)
        return response

    async def post_file(self, path: str, field: str, filename: str, content: bytes) -> Response:
        boundary = "----consoletest7MA4YWxkTrZu0gW"
        xsrf = self.cookies.get("_xsrf", "")
        parts = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"_xsrf\"\r\n\r\n{xsrf}\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
                 "Content-Type: text/plain\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
        response = await self.g.request("POST", path, raw=parts, headers=self._headers(
            {"Content-Type": f"multipart/form-data; boundary={boundary}"}))
        self._remember(response)
        return response

    async def sign_in_operator(self) -> None:
        response = await self.post("/console/login", {"operator_token": OPERATOR_TOKEN})
        assert response.status == 302, response.text

    async def create_admin(self, slug: str, login: str, totp: bool = False) -> str:
        """As the operator: a tenant administrator; returns the first password shown once."""
        fields = {"action": "create", "login": login, **({"totp_required": "on"} if totp else {})}
        response = await self.post(f"/console/t/{slug}/admins", fields)
        assert response.status == 200, response.text
        match = re.search(r'id="new-password">([^<]+)<', response.text)
        assert match, "the first password is shown once"
        return match.group(1)

    async def sign_in_admin(self, slug: str, login: str, password: str, new_password: str = NEW_PASSWORD) -> None:
        response = await self.post("/console/login", {"slug": slug, "login": login, "password": password})
        assert response.status == 302, response.text
        assert response.headers["Location"] == f"/console/t/{slug}/"
        page = await self.get(f"/console/t/{slug}/")
        assert page.status == 302 and page.headers["Location"] == "/console/account/password"
        changed = await self.post("/console/account/password", {"current": password, "new": new_password})
        assert changed.status == 302, changed.text
