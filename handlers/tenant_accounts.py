"""Tenant API for accounts: PUT/GET /accounts/{login}, the depart/unlock/unbind/approve actions,
and POST /accounts/import (.csv or .xlsx, raw or multipart field "file"); PUT and GET of
/accounts/import are those of the account whose login is "import"."""
from __future__ import annotations

from gateway.accounts.importer import file_kind
from gateway.platform.errors import Invalid
from handlers.base import SLUG, TenantApiHandler

ACTOR = "tenant_api"
LOGIN = r"(?P<login>[^/]+)"


class AccountHandler(TenantApiHandler):
    async def put(self, slug: str, login: str) -> None:
        view, created = await self.gw.accounts.put(self.tenant, login, self.json_object(), ACTOR)
        self.write_json(view, status=201 if created else 200)

    async def get(self, slug: str, login: str) -> None:
        self.write_json(await self.gw.directory.view(self.tenant, login))


class AccountActionHandler(TenantApiHandler):
    async def post(self, slug: str, login: str, action: str) -> None:
        accounts = self.gw.accounts
        act = {"depart": accounts.depart, "unlock": accounts.unlock, "unbind": accounts.unbind,
               "approve": accounts.approve}[action]
        self.write_json(await act(self.tenant, login, ACTOR))


class ImportHandler(AccountHandler):
    async def post(self, slug: str, login: str) -> None:
        ctype = self.request.headers.get("Content-Type", "")
        if ctype.lower().startswith("multipart/form-data"):
            parts = self.request.files.get("file") or []
            if not parts:
                raise Invalid('send the file in the multipart field "file"')
            data, kind = parts[0]["body"], file_kind(parts[0].get("content_type"), parts[0].get("filename"))
        else:
            data, kind = self.request.body, file_kind(ctype)
        if kind is None:
            raise Invalid("send a .csv (text/csv) or .xlsx (application/vnd.openxmlformats-officedocument."
                          "spreadsheetml.sheet) file")
        if not data:
            raise Invalid("the file is empty")
        self.write_json(await self.gw.accounts.import_file(self.tenant, data, kind, ACTOR))


BASE = rf"/api/v1/{SLUG}/accounts"
ROUTES = [
    (rf"{BASE}/(?P<login>import)", ImportHandler),
    (rf"{BASE}/{LOGIN}/(?P<action>depart|unlock|unbind|approve)", AccountActionHandler),
    (rf"{BASE}/{LOGIN}", AccountHandler),
]
