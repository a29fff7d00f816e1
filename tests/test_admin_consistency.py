"""Admin reads are consistent across processes: after a DELETE or PATCH answered by one process,
any other process answers a GET of that tenant from storage at once (callback routing may follow
within the documented 2 s)."""
from __future__ import annotations

from harness import tenant_body


async def test_delete_and_patch_are_seen_at_once_by_another_process(env):
    async with env.gateway(drop=False) as one, env.gateway() as two:
        await one.create_tenant("acme")
        assert (await two.admin("GET", "/admin/api/tenants/acme")).status == 200  # both have loaded it
        assert two.gw.registry.get("acme") is not None

        r = await one.admin("PATCH", "/admin/api/tenants/acme", {"name": "Acme 新名称"})
        assert r.status == 200
        got = await two.admin("GET", "/admin/api/tenants/acme")
        assert got.status == 200 and got.json["name"] == "Acme 新名称"

        assert (await one.admin("DELETE", "/admin/api/tenants/acme")).status == 204
        assert (await two.admin("GET", "/admin/api/tenants/acme")).status == 404
        assert (await two.admin("GET", "/admin/api/tenants/acme/replies")).status == 404
        assert [t["slug"] for t in (await two.admin("GET", "/admin/api/tenants")).json["items"]] == []

        await one.admin("POST", "/admin/api/tenants", tenant_body("beta"))
        assert [t["slug"] for t in (await two.admin("GET", "/admin/api/tenants")).json["items"]] == ["beta"]
