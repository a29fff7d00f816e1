"""Concurrent tenant changes: each PATCH (and replies or API-key change) merges onto the row as
stored, under a row lock, so changes made at the same moment by this process or another one
are never lost."""
from __future__ import annotations

import asyncio
from typing import Any

from harness import RunningGateway

# Twenty PATCHes, each touching a different field; the expected value as the registry shows it.
CHANGES: list[tuple[dict[str, Any], Any]] = [
    ({"name": "新名字"}, lambda t: t.name),
    ({"policy": {"max_login_failures": 7}}, lambda t: t.policy["max_login_failures"]),
    ({"policy": {"lockout_minutes": 31}}, lambda t: t.policy["lockout_minutes"]),
    ({"policy": {"password_min_length": 10}}, lambda t: t.policy["password_min_length"]),
    ({"policy": {"first_login_change_password": True}}, lambda t: t.policy["first_login_change_password"]),
    ({"policy": {"allow_mobile_registration": True}}, lambda t: t.policy["allow_mobile_registration"]),
    ({"policy": {"password_classes": ["digit"]}}, lambda t: t.policy["password_classes"]),
    ({"people": {"login_column": "编号"}}, lambda t: t.people["login_column"]),
    ({"people": {"name_column": "名字"}}, lambda t: t.people["name_column"]),
    ({"people": {"position_column": "岗位"}}, lambda t: t.people["position_column"]),
    ({"people": {"wechat_column": "微信"}}, lambda t: t.people["wechat_column"]),
    ({"logging": {"mobile": False}}, lambda t: t.logging["mobile"]),
    ({"logging": {"system": False}}, lambda t: t.logging["system"]),
    ({"wechat": {"app_secret": "RotatedSecret1"}}, lambda t: t.secrets.app_secret),
    ({"wechat": {"token": "newtoken9"}}, lambda t: t.secrets.token),
    ({"wechat": {"original_id": "gh_changed01"}}, lambda t: t.original_id),
    ({"webapi_url": "https://erp.acme.example/hook"}, lambda t: t.webapi_url),
    ({"domains": ["wx.acme.example"]}, lambda t: t.domains),
    ({"templates": {"approver": {"template_id": "tpl_new"}}}, lambda t: t.templates["approver"]["template_id"]),
    ({"templates": {"cc": {"data": {"thing2": None}}}}, lambda t: t.templates["cc"]["data"]),
]
EXPECTED = ["新名字", 7, 31, 10, True, True, ["digit"], "编号", "名字", "岗位", "微信", False, False,
            "RotatedSecret1", "newtoken9", "gh_changed01", "https://erp.acme.example/hook", ["wx.acme.example"],
            "tpl_new", {"thing1": "{title}"}]
RULES = {"rules": [{"match": "exact", "keyword": "你好", "reply": "您好"}]}


async def _stored(g: RunningGateway, slug: str = "acme") -> Any:
    """The tenant as storage holds it now (secrets decrypted from the row)."""
    await g.gw.registry.reload(slug)
    return g.gw.registry.require(slug)


async def test_concurrent_patches_in_one_process_all_survive(env):
    async with env.gateway() as g:
        created = await g.create_tenant("acme")
        answers = await asyncio.gather(
            *(g.admin("PATCH", "/admin/api/tenants/acme", patch) for patch, _ in CHANGES),
            g.admin("PUT", "/admin/api/tenants/acme/replies", RULES),
            g.admin("POST", "/admin/api/tenants/acme/api-key"))
        assert [r.status for r in answers] == [200] * len(answers), [r.text for r in answers if r.status != 200]
        for tenant in (g.gw.registry.require("acme"), await _stored(g)):
            assert [read(tenant) for _, read in CHANGES] == EXPECTED
            assert tenant.replies == RULES["rules"]
            assert tenant.secrets.webhook_secret == created["webhook_secret"]
        new_key = answers[-1].json["api_key"]
        assert (await g.gw.registry.tenant_for_api_key(new_key)).slug == "acme"
        assert await g.gw.registry.tenant_for_api_key(created["api_key"]) is None
        audit = await g.admin("GET", "/admin/api/tenants/acme/audit")
        actions = [item["action"] for item in audit.json["items"]]
        assert actions.count("tenant.changed") == len(CHANGES)


async def test_changes_from_two_processes_are_not_lost(env):
    async with env.gateway(drop=False) as g1:
        async with env.gateway(settings=g1.gw.settings) as g2:
            await g1.create_tenant("acme")
            for i in range(8):
                secret, name = f"Secret{i}abc", f"B{i}"
                r1, r2 = await asyncio.gather(
                    g1.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"app_secret": secret}}),
                    g2.admin("PATCH", "/admin/api/tenants/acme", {"name": name}))
                assert (r1.status, r2.status) == (200, 200), (r1.text, r2.text)
                for g in (g1, g2):
                    tenant = await _stored(g)
                    assert (tenant.secrets.app_secret, tenant.name) == (secret, name), i
            # g2 changes replies and policy while g1's copy is older: g1's last secret stays.
            await g1.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"app_secret": "FinalSecret"}})
            assert (await g2.admin("PUT", "/admin/api/tenants/acme/replies", RULES)).status == 200
            assert (await g2.admin("PATCH", "/admin/api/tenants/acme", {"policy": {"lockout_minutes": 45}})).status == 200
            tenant = await _stored(g1)
            assert tenant.secrets.app_secret == "FinalSecret" and tenant.name == "B7"
            assert tenant.replies == RULES["rules"] and tenant.policy["lockout_minutes"] == 45


async def test_patch_keeps_its_errors(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        await g.create_tenant("beta")
        beta_app_id = g.gw.registry.require("beta").app_id
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"app_id": beta_app_id}})
        assert r.status == 409 and r.json["error"]["code"] == "conflict"
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"policy": {"max_login_failures": "many"}})
        assert r.status == 400 and r.json["error"]["details"]["problems"]
        r = await g.admin("PATCH", "/admin/api/tenants/acme", {"wechat": {"message_mode": "safe"}})
        assert r.status == 400 and "encoding_aes_key" in r.text
        assert (await g.admin("PATCH", "/admin/api/tenants/nope", {"name": "x"})).status == 404
        assert (await g.admin("PUT", "/admin/api/tenants/nope/replies", RULES)).status == 404
        assert (await g.admin("POST", "/admin/api/tenants/nope/api-key")).status == 404
        tenant = await _stored(g)
        assert tenant.revision == 1 and tenant.app_id != beta_app_id and tenant.message_mode == "plain"
