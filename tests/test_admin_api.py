"""Admin API: tenants CRUD, validation, errors in the contract's shape, secrets never returned."""
from __future__ import annotations

import asyncio
import logging

from gateway.storage import StorageError
from harness import tenant_body


async def test_create_returns_tenant_urls_and_secrets_once(env):
    async with env.gateway() as g:
        r = await g.admin("POST", "/admin/api/tenants", tenant_body("acme"))
        assert r.status == 201
        body = r.json
        assert set(body) == {"tenant", "api_key", "webhook_secret"}
        assert body["webhook_secret"].startswith("whsec_")
        assert body["api_key"]
        tenant = body["tenant"]
        assert tenant["slug"] == "acme"
        assert tenant["urls"] == {"callback": "http://127.0.0.1:8080/wx/acme/callback",
                                  "menu_entry": "http://127.0.0.1:8080/wx/acme/entry?next=inbox",
                                  "oauth_domain": "127.0.0.1"}
        assert "app_secret" not in r.text and "tokacme" not in r.text
        got = await g.admin("GET", "/admin/api/tenants/acme")
        assert got.status == 200
        assert got.json["name"] == "acme 制造"
        assert "api_key" not in got.json and "webhook_secret" not in got.json
        assert "s3cretAppSecret" not in got.text


async def test_duplicate_slug_and_app_id_conflict(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        r = await g.admin("POST", "/admin/api/tenants", tenant_body("acme"))
        assert r.status == 409 and r.json["error"]["code"] == "conflict"
        other = tenant_body("beta")
        other["wechat"]["app_id"] = tenant_body("acme")["wechat"]["app_id"]
        r = await g.admin("POST", "/admin/api/tenants", other)
        assert r.status == 409


async def test_reserved_slugs_are_refused(env):
    async with env.gateway() as g:
        for slug in ("default", "component"):
            r = await g.admin("POST", "/admin/api/tenants", tenant_body(slug))
            assert r.status == 400 and any("reserved" in p for p in r.json["error"]["details"]["problems"]), slug
        assert (await g.admin("GET", "/admin/api/tenants")).json["items"] == []


async def test_validation_names_each_problem(env):
    async with env.gateway() as g:
        bad = tenant_body("acme")
        bad["slug"] = "-bad"
        bad["wechat"]["token"] = "ab"
        bad["wechat"]["encoding_aes_key"] = "x" * 42
        bad["wechat"]["app_id"] = "notanappid"
        bad["surprise"] = 1
        r = await g.admin("POST", "/admin/api/tenants", bad)
        assert r.status == 400
        err = r.json["error"]
        assert err["code"] == "invalid"
        text = " ".join(err["details"]["problems"])
        for word in ("slug", "wechat.token", "encoding_aes_key", "app_id", "surprise"):
            assert word in text


async def test_message_mode_needs_key(env):
    async with env.gateway() as g:
        body = tenant_body("acme")
        body["wechat"]["message_mode"] = "safe"
        r = await g.admin("POST", "/admin/api/tenants", body)
        assert r.status == 400
        body["wechat"]["encoding_aes_key"] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
        r = await g.admin("POST", "/admin/api/tenants", body)
        assert r.status == 201, r.text
        assert "abcdefghijklmnop" not in r.text


async def test_private_webhook_refused_unless_allowed(env):
    async with env.gateway() as g:
        for url in ("http://localhost/x", "http://127.0.0.1:9000/x", "http://10.1.2.3/x", "http://[::1]/x",
                    "http://169.254.169.254/latest", "ftp://example.com/x"):
            r = await g.admin("POST", "/admin/api/tenants", tenant_body("acme", webapi_url=url))
            assert r.status == 400, url
        r = await g.admin("POST", "/admin/api/tenants", tenant_body("acme", webapi_url="https://erp.acme.example/e"))
        assert r.status == 201
    async with env.gateway(security={"allow_private_webhooks": True}) as g:
        r = await g.admin("POST", "/admin/api/tenants", tenant_body("beta", webapi_url="http://127.0.0.1:9/x"))
        assert r.status == 201


async def test_errors_have_contract_shape(env):
    async with env.gateway() as g:
        r = await g.request("GET", "/admin/api/tenants")
        assert r.status == 401 and r.json["error"]["code"] == "unauthorized"
        r = await g.request("GET", "/admin/api/tenants", token="wrong")
        assert r.status == 401
        r = await g.admin("POST", "/admin/api/tenants", raw=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status == 400 and r.json["error"]["code"] == "invalid"
        assert set(r.json["error"]) == {"code", "message", "details"}
        r = await g.admin("POST", "/admin/api/tenants", body=["a", "list"])
        assert r.status == 400
        r = await g.admin("GET", "/admin/api/tenants/nope")
        assert r.status == 404 and r.json["error"]["code"] == "not_found"
        r = await g.admin("GET", "/admin/api/nothing-here")
        assert r.status == 404 and r.json["error"]["code"] == "not_found"
        r = await g.admin("PATCH", "/admin/api/tenants/nope", {"name": "x"})
        assert r.status == 404
        assert b"Traceback" not in r.body


async def test_patch_merges_and_rotates_aes_key(env):
    async with env.gateway() as g:
        await g.create_tenant("acme", policy={"max_login_failures": 5})
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"policy": {"lockout_minutes": 30}, "name": "新名字"})
        assert r.status == 200, r.text
        assert r.json["policy"]["lockout_minutes"] == 30
        assert r.json["policy"]["max_login_failures"] == 5
        assert r.json["name"] == "新名字"
        key1 = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
        key2 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
        await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"encoding_aes_key": key1}})
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"encoding_aes_key": key2,
                                                                          "message_mode": "safe"}})
        assert r.status == 200
        tenant = g.gw.registry.require("acme")
        assert tenant.secrets.encoding_aes_key == key2
        assert tenant.secrets.previous_encoding_aes_key == key1
        assert tenant.message_mode == "safe"
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"slug": "other"})
        assert r.status == 400
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"unknown": 1})
        assert r.status == 400 and "unknown" in " ".join(r.json["error"]["details"]["problems"])


async def test_list_pages_by_slug_in_creation_order(env):
    async with env.gateway() as g:
        for slug in ("zeta", "alpha", "mid"):
            await g.create_tenant(slug)
        r = await g.admin("GET", "/admin/api/tenants?limit=2")
        assert [t["slug"] for t in r.json["items"]] == ["zeta", "alpha"]
        assert r.json["next_after"] == "alpha"
        r = await g.admin("GET", "/admin/api/tenants?limit=2&after=alpha")
        assert [t["slug"] for t in r.json["items"]] == ["mid"]
        assert r.json["next_after"] is None
        r = await g.admin("GET", "/admin/api/tenants?limit=abc")
        assert r.status == 400
        r = await g.admin("GET", "/admin/api/tenants?limit=5000")  # capped, not refused
        assert r.status == 200
        assert [t["slug"] for t in r.json["items"]] == ["zeta", "alpha", "mid"] and r.json["next_after"] is None
        seen, after = [], ""
        for _ in range(4):
            r = await g.admin("GET", f"/admin/api/tenants?limit=1{after}")
            assert r.status == 200 and len(r.json["items"]) == 1
            seen.append(r.json["items"][0]["slug"])
            if r.json["next_after"] is None:
                break
            assert r.json["next_after"] == seen[-1]
            after = f"&after={r.json['next_after']}"
        assert seen == ["zeta", "alpha", "mid"]
        r = await g.admin("GET", "/admin/api/tenants?limit=2&after=mid")
        assert r.json == {"items": [], "next_after": None}
        for bad in ("limit=0", "limit=-1", "limit=1.5", "limit=1e3", "after=nobody"):
            r = await g.admin("GET", f"/admin/api/tenants?{bad}")
            assert r.status == 400 and r.json["error"]["code"] == "invalid", bad
            assert r.json["error"]["details"]["field"] == bad.split("=")[0], bad


async def test_delete_and_rotate_api_key(env):
    async with env.gateway() as g:
        created = await g.create_tenant("acme")
        assert await g.gw.registry.tenant_for_api_key(created["api_key"]) is not None
        r = await g.admin("POST", "/admin/api/tenants/acme/api-key")
        assert r.status == 200 and r.json["api_key"] != created["api_key"]
        assert await g.gw.registry.tenant_for_api_key(created["api_key"]) is None
        assert (await g.gw.registry.tenant_for_api_key(r.json["api_key"])).slug == "acme"
        r = await g.admin("DELETE", "/admin/api/tenants/acme")
        assert r.status == 204
        assert (await g.admin("GET", "/admin/api/tenants/acme")).status == 404


async def test_verify_file_served_and_checklist(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        await g.create_tenant("beta")
        r = await g.admin("PUT", "/admin/api/tenants/acme/verify-file", {"name": "MP_verify_abc123.txt",
                                                                         "content": "abc123"})
        assert r.status == 200
        served = await g.request("GET", "/MP_verify_abc123.txt")
        assert served.status == 200 and served.text == "abc123"
        assert (await g.request("GET", "/MP_verify_nope.txt")).status == 404
        r = await g.admin("PUT", "/admin/api/tenants/beta/verify-file", {"name": "MP_verify_abc123.txt",
                                                                         "content": "x"})
        assert r.status == 409
        r = await g.admin("PUT", "/admin/api/tenants/acme/verify-file", {"name": "../etc/passwd", "content": "x"})
        assert r.status == 400
        r = await g.admin("GET", "/admin/api/tenants/acme/checklist")
        steps = {s["id"]: s for s in r.json["steps"]}
        assert list(steps) == ["credentials", "ip_whitelist", "callback", "oauth_domain", "templates", "menu",
                               "first_binding"]
        assert steps["oauth_domain"]["ok"] is True
        assert steps["callback"]["ok"] is False and "/wx/acme/callback" in steps["callback"]["detail"]


async def test_replies_validated(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        r = await g.admin("PUT", "/admin/api/tenants/acme/replies",
                          {"rules": [{"match": "exact", "keyword": "你好", "reply": "您好"}]})
        assert r.status == 200
        assert g.gw.registry.require("acme").replies[0]["reply"] == "您好"
        r = await g.admin("PUT", "/admin/api/tenants/acme/replies", {"rules": [{"match": "regex", "keyword": "a",
                                                                                 "reply": "b"}]})
        assert r.status == 400


async def test_audit_records_admin_changes(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"app_secret": "NewSecret123"}})
        r = await g.admin("GET", "/admin/api/tenants/acme/audit")
        actions = [i["action"] for i in r.json["items"]]
        assert actions == ["tenant.created", "tenant.changed"]
        assert "NewSecret123" not in r.text


async def test_tenant_change_reaches_another_process(env):
    async with env.gateway(drop=False) as g1:
        async with env.gateway(settings=g1.gw.settings) as g2:
            await g1.create_tenant("acme")
            for _ in range(60):
                if g2.gw.registry.get("acme") is not None:
                    break
                await asyncio.sleep(0.1)
            assert g2.gw.registry.get("acme") is not None
            await g1.admin("PATCH", "/admin/api/tenants/acme", {"name": "changed"})
            for _ in range(60):
                if g2.gw.registry.get("acme").name == "changed":
                    break
                await asyncio.sleep(0.1)
            assert g2.gw.registry.get("acme").name == "changed"


async def test_keys_are_answered_when_the_audit_write_fails(env, caplog):
    async with env.gateway() as g:
        storage = g.gw.storage
        real_execute = storage.execute

        async def execute(sql, params=()):
            if sql.lstrip().upper().startswith("INSERT INTO AUDIT"):
                raise StorageError("database error")
            return await real_execute(sql, params)

        storage.execute = execute
        with caplog.at_level(logging.WARNING):
            r = await g.admin("POST", "/admin/api/tenants", tenant_body("acme"))
            assert r.status == 201, r.text
            created = r.json
            assert created["webhook_secret"].startswith("whsec_")
            assert (await g.gw.registry.tenant_for_api_key(created["api_key"])).slug == "acme"
            r = await g.admin("POST", "/admin/api/tenants/acme/api-key")
            assert r.status == 200, r.text
            rotated = r.json["api_key"]
            assert (await g.gw.registry.tenant_for_api_key(rotated)).slug == "acme"
            assert await g.gw.registry.tenant_for_api_key(created["api_key"]) is None
            r = await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"app_secret": "NewSecret123"}})
            assert r.status == 200 and g.gw.registry.require("acme").secrets.app_secret == "NewSecret123"
            assert (await g.admin("PUT", "/admin/api/tenants/acme/replies", {"rules": []})).status == 200
        warnings = [rec.getMessage() for rec in caplog.records if rec.name == "handlers.admin"]
        assert len(warnings) == 4 and all("not written" in w for w in warnings)
        logged = " ".join(rec.getMessage() for rec in caplog.records)
        for secret in (created["api_key"], created["webhook_secret"], rotated, "NewSecret123"):
            assert secret not in logged
        storage.execute = real_execute
        r = await g.admin("GET", "/admin/api/tenants/acme/audit")
        assert r.json["items"] == []


async def test_a_fact_learnt_after_the_tenant_is_deleted_is_not_stored(env):
    """A send or callback that finishes just after the tenant's deletion must not leave a
    tenant_state row behind (the deletion removes everything stored for the tenant)."""
    async with env.gateway() as g:
        await g.create_tenant("acme")
        tenant_id = g.gw.registry.require("acme").id
        await g.gw.state.set(tenant_id, "template_sent", True)
        assert await g.gw.state.get(tenant_id, "template_sent") is True
        assert (await g.admin("DELETE", "/admin/api/tenants/acme")).status == 204
        g.gw.state._written.clear()  # as a process that had not written it moments ago
        await g.gw.state.set(tenant_id, "template_error", "late")
        assert await g.gw.storage.fetchall("SELECT * FROM tenant_state WHERE tenant_id = ?", (tenant_id,)) == []
