"""Tenant API for accounts: create/update/read, validation naming each problem, password policy,
API keys (another tenant's 403, rotated-out 401), depart/unlock/unbind/approve, and the
self-registration endpoint of the pages."""
from __future__ import annotations

from urllib.parse import quote

from wechat_env import wechat_env

PW = "Tr0ub4dor&3x!"


async def test_create_update_and_read(env):
    async with wechat_env(env) as wx:
        r = await wx.tenant_api("PUT", "/accounts/E1001", {"name": "张三", "kind": "employee", "position": "采购员",
                                                           "password": PW})
        assert r.status == 201, r.text
        assert r.json == {"login": "E1001", "name": "张三", "kind": "employee", "position": "采购员",
                          "status": "active", "bound": False, "bound_at": None, "locked_until": None}
        r = await wx.tenant_api("PUT", "/accounts/e1001", {"name": "张三丰", "kind": "supplier", "position": "经理"})
        assert r.status == 200 and r.json["login"] == "E1001"  # same account, case-insensitively
        assert (r.json["name"], r.json["kind"], r.json["position"]) == ("张三丰", "supplier", "经理")
        r = await wx.tenant_api("GET", "/accounts/%EF%BC%A51001")  # fullwidth Ｅ1001 (NFKC)
        assert r.status == 200 and r.json["name"] == "张三丰"
        r = await wx.tenant_api("GET", "/accounts/nobody")
        assert r.status == 404 and r.json["error"]["code"] == "not_found"
        for kind in ("customer", "supplier"):
            r = await wx.tenant_api("PUT", f"/accounts/{kind}1", {"name": "X", "kind": kind, "position": ""})
            assert r.status == 201 and r.json["kind"] == kind
        r = await wx.tenant_api("PUT", "/accounts/%E5%B7%A5%E5%8F%B7-7", {"name": "中文账号", "kind": "employee"})
        assert r.status == 201 and r.json["login"] == "工号-7"
        actions = [e["action"] for e in await wx.audit()]
        assert actions.count("account.created") == 4 and "account.updated" in actions


async def test_validation_names_unknown_fields_and_problems(env):
    async with wechat_env(env) as wx:
        r = await wx.tenant_api("PUT", "/accounts/x1", {"name": "X", "kind": "employee", "role": "admin",
                                                        "password_hash": "scrypt$..."})
        assert r.status == 400 and r.json["error"]["code"] == "invalid"
        assert r.json["error"]["details"]["fields"] == ["password_hash", "role"]
        assert "role" in r.json["error"]["message"]
        r = await wx.tenant_api("PUT", "/accounts/x1", {"kind": "boss", "position": 5, "active": "yes"})
        assert r.status == 400
        text = " ".join(r.json["error"]["details"]["problems"])
        for word in ("name", "kind", "position", "active"):
            assert word in text
        r = await wx.tenant_api("PUT", "/accounts/" + "x" * 65, {"name": "X", "kind": "employee"})
        assert r.status == 400 and "login" in r.json["error"]["message"]
        r = await wx.tenant_api("PUT", "/accounts/a%2Fb", {"name": "X", "kind": "employee"})
        assert r.status == 400
        r = await wx.tenant_api("PUT", "/accounts/x1", raw=b"[1]", headers={"Content-Type": "application/json"})
        assert r.status == 400
        assert (await wx.tenant_api("GET", "/accounts/x1")).status == 404


async def test_password_policy_on_put(env):
    async with wechat_env(env, policy={"password_min_length": 10, "password_classes": ["digit", "symbol"]}) as wx:
        cases = {"short1!": "too_short", "longenough1": "missing_symbol", "longenough!": "missing_digit",
                 "password1!": "common", "x" * 129 + "1!": "too_long"}
        for password, rule in cases.items():
            r = await wx.tenant_api("PUT", "/accounts/zhang", {"name": "Z", "kind": "employee", "password": password})
            assert r.status == 400 and r.json["error"]["code"] == "weak_password", password
            assert r.json["error"]["details"]["rule"] == rule, (password, r.json)
            assert password not in r.text
        r = await wx.tenant_api("PUT", "/accounts/zhang", {"name": "Z", "kind": "employee", "password": "zhang-2024!x"})
        assert r.status == 400 and r.json["error"]["details"]["rule"] == "contains_context"
        r = await wx.tenant_api("PUT", "/accounts/zhang", {"name": "Z", "kind": "employee", "password": "密码很长的😀-12!"})
        assert r.status == 201
        stored = await wx.g.gw.storage.fetchval("SELECT password_hash FROM accounts")
        assert stored.startswith("scrypt$1024$8$1$") and "密码" not in stored


async def test_api_keys_other_tenant_403_rotated_401(env):
    async with wechat_env(env, slugs=("acme", "beta")) as wx:
        await wx.put_account("zhang", PW)
        r = await wx.g.request("GET", "/api/v1/acme/accounts/zhang", token=wx.keys["beta"])
        assert r.status == 403 and r.json["error"]["code"] == "forbidden"
        r = await wx.g.request("PUT", "/api/v1/acme/accounts/evil", {"name": "E", "kind": "employee"},
                               token=wx.keys["beta"])
        assert r.status == 403
        assert (await wx.g.request("GET", "/api/v1/acme/accounts/zhang")).status == 401
        assert (await wx.g.request("GET", "/api/v1/acme/accounts/zhang", token="gk_nope")).status == 401
        rotated = await wx.g.admin("POST", "/admin/api/tenants/acme/api-key")
        r = await wx.g.request("GET", "/api/v1/acme/accounts/zhang", token=wx.keys["acme"])
        assert r.status == 401
        r = await wx.g.request("GET", "/api/v1/acme/accounts/zhang", token=rotated.json["api_key"])
        assert r.status == 200
        # Accounts are per tenant: beta's zhang is another account.
        assert (await wx.tenant_api("GET", "/accounts/zhang", slug="beta")).status == 404


async def test_depart_unlock_unbind_approve(env):
    async with wechat_env(env, policy={"max_login_failures": 2}) as wx:
        await wx.put_account("zhang", PW)
        for action in ("depart", "unlock", "unbind", "approve"):
            r = await wx.tenant_api("POST", f"/accounts/ghost/{action}")
            assert r.status == 404, action
        r = await wx.tenant_api("POST", "/accounts/zhang/approve")
        assert r.status == 200 and r.json["status"] == "active"
        r = await wx.tenant_api("POST", "/accounts/zhang/depart")
        assert r.status == 200 and r.json["status"] == "departed"
        r = await wx.tenant_api("POST", "/accounts/zhang/depart")
        assert r.status == 200
        r = await wx.tenant_api("POST", "/accounts/zhang/approve")
        assert r.status == 409
        r = await wx.tenant_api("PUT", "/accounts/zhang", {"name": "Z", "kind": "employee", "active": True})
        assert r.status == 200 and r.json["status"] == "active"
        r = await wx.tenant_api("PUT", "/accounts/zhang", {"name": "Z", "kind": "employee", "active": False})
        assert r.status == 200 and r.json["status"] == "departed"
        r = await wx.tenant_api("PUT", "/accounts/new1", {"name": "N", "kind": "employee", "active": False})
        assert r.status == 201 and r.json["status"] == "departed"
        actions = [e["action"] for e in await wx.audit()]
        assert actions.count("account.departed") == 2 and "account.activated" in actions


async def test_registration_refused_when_not_allowed(env):
    async with wechat_env(env) as wx:
        phone = wx.phone()
        await wx.use_openid("acme", "o_new")
        await phone.open_entry("register")
        r = await phone.api("register", {"login": "li", "name": "李四", "password": PW, "kind": "customer"})
        assert r.status == 403 and r.json["error"]["code"] == "forbidden"
        assert (await wx.tenant_api("GET", "/accounts/li")).status == 404


async def test_registration(env):
    async with wechat_env(env, policy={"allow_mobile_registration": True}) as wx:
        await wx.put_account("zhang", PW)
        phone = wx.phone()
        r = await phone.api("register", {"login": "li", "name": "李四", "password": PW})
        assert r.status == 401  # needs the OAuth step first
        await wx.use_openid("acme", "o_new")
        r = await phone.open_entry("register")
        assert r.headers["Location"] == "/wx/acme/register"
        r = await phone.api("register", {"login": "ZHANG", "name": "冒充", "password": PW})
        assert r.status == 201 and r.json == {"status": "pending"}  # like a new login; nothing changes
        assert (await wx.tenant_api("GET", "/accounts/zhang")).json["status"] == "active"
        r = await phone.api("register", {"login": "li", "name": "李四", "password": "12345678"})
        assert r.status == 400 and r.json["error"]["code"] == "weak_password"
        r = await phone.api("register", {"login": "li", "name": "李四", "password": PW, "kind": "boss"})
        assert r.status == 400
        r = await phone.api("register", {"login": "li", "name": "李四", "password": PW, "kind": "customer",
                                         "status": "active"})
        assert r.status == 400
        r = await phone.api("register", {"login": "li", "name": "李四", "password": PW, "kind": "customer"})
        assert r.status == 201 and r.json == {"status": "pending"}
        view = (await wx.tenant_api("GET", "/accounts/li")).json
        assert view["status"] == "pending" and view["kind"] == "customer" and view["bound"] is False
        registered = [e for e in await wx.events() if e["type"] == "account.registered"]
        assert [e["data"] for e in registered] == [{"login": "li", "name": "李四", "kind": "customer"}]
        assert PW not in str(await wx.audit())


async def test_unknown_tenant_and_methods(env):
    async with wechat_env(env) as wx:
        r = await wx.g.request("GET", "/api/v1/nobody/accounts/x", token=wx.keys["acme"])
        assert r.status == 403
        r = await wx.tenant_api("DELETE", "/accounts/x")
        assert r.status == 405
        r = await wx.tenant_api("POST", f"/accounts/{quote('x')}/explode")
        assert r.status in (404, 405)


async def test_parallel_first_puts_create_once_and_update_the_rest(env):
    import asyncio
    async with wechat_env(env) as wx:
        for round_ in range(3):
            login = f"race{round_}"
            results = await asyncio.gather(*(
                wx.tenant_api("PUT", f"/accounts/{login}", {"name": f"R{i}", "kind": "employee"}) for i in range(8)))
            statuses = sorted(r.status for r in results)
            assert statuses == [200] * 7 + [201], [r.text for r in results if r.status not in (200, 201)]
            assert all(r.json["login"] == login for r in results)
        count = await wx.g.gw.storage.fetchval("SELECT COUNT(*) FROM accounts WHERE login LIKE 'race%'")
        assert count == 3


async def test_an_account_named_import(env):
    async with wechat_env(env) as wx:
        r = await wx.tenant_api("PUT", "/accounts/import", {"name": "导入", "kind": "employee", "password": PW})
        assert r.status == 201 and r.json["login"] == "import"
        r = await wx.tenant_api("GET", "/accounts/import")
        assert r.status == 200 and r.json["name"] == "导入"
        r = await wx.tenant_api("PUT", "/accounts/import", {"name": "导入二"})
        assert r.status == 200 and r.json["name"] == "导入二"
        r = await wx.tenant_api("POST", "/accounts/import/depart")
        assert r.status == 200 and r.json["status"] == "departed"
        r = await wx.tenant_api("POST", "/accounts/import", raw="工号,姓名\r\nE1,张三".encode(),
                                headers={"Content-Type": "text/csv"})
        assert r.status == 200 and r.json == {"created": 1, "updated": 0}
