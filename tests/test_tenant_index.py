"""The tenant registry at scale: lookups by id through an index, and a poll that reloads only the
tenants whose rows changed (one decryption per changed tenant, not one per tenant), including
creations, updates, deletions and a row whose secrets do not open."""
from __future__ import annotations

import asyncio
from typing import Any


def counting_opens(g: Any) -> list[str]:
    opened: list[str] = []
    box = g.gw.registry.box
    real = box.open

    def open_(sealed: bytes, context: str) -> bytes:
        opened.append(context)
        return real(sealed, context)

    box.open = open_  # type: ignore[method-assign]
    return opened


async def test_by_id_follows_creations_and_deletions(env):
    async with env.gateway() as g:
        await g.create_tenant("acme")
        await g.create_tenant("beta")
        acme, beta = g.gw.registry.require("acme"), g.gw.registry.require("beta")
        assert g.gw.registry.by_id(acme.id) is acme and g.gw.registry.by_id(beta.id) is beta
        assert (await g.admin("DELETE", "/admin/api/tenants/beta")).status == 204
        assert g.gw.registry.by_id(beta.id) is None and g.gw.registry.by_id(acme.id) is not None
        assert g.gw.registry.by_id(10**9) is None


async def test_the_poll_reloads_only_changed_tenants(env):
    async with env.gateway() as g1, env.gateway(drop=False) as g2:
        for slug in ("t-one", "t-two", "t-three", "t-four"):
            await g1.create_tenant(slug)
        await g2.gw.registry.load_all()
        opened = counting_opens(g2)
        # What other processes do, seen by g2 through its poll only (no notice reaches it).
        assert (await g1.admin("PATCH", "/admin/api/tenants/t-two", {"name": "第二家"})).status == 200
        assert (await g1.admin("DELETE", "/admin/api/tenants/t-three")).status == 204
        await g1.create_tenant("t-five")
        await g2.gw.registry.load_changed()
        # (With Redis, g2 may also get the notices and reload those two once more; never the others.)
        assert set(opened) == {"tenant:t-five", "tenant:t-two"}
        registry = g2.gw.registry
        assert registry.require("t-two").name == "第二家"
        assert registry.get("t-three") is None
        five = registry.require("t-five")
        assert registry.by_id(five.id) is five
        assert [t.slug for t in registry.all()] == ["t-one", "t-two", "t-four", "t-five"]
        for _ in range(10):  # a late Redis notice may still reload t-two or t-five once: let it land
            await asyncio.sleep(0.3)
            opened.clear()
            await registry.load_changed()
            if not opened:
                break
        assert opened == []  # nothing changed: nothing decrypted


async def test_a_row_that_does_not_open_is_retried_only_once_changed(env):
    async with env.gateway() as g1, env.gateway(drop=False) as g2:
        await g1.create_tenant("acme")
        await g1.create_tenant("beta")
        acme = await g1.gw.storage.fetchone("SELECT secrets FROM tenants WHERE slug = ?", ("acme",))
        await g1.gw.storage.execute("UPDATE tenants SET secrets = ?, revision = revision + 1 WHERE slug = ?",
                                    (acme["secrets"], "beta"))
        opened = counting_opens(g2)
        await g2.gw.registry.load_changed()
        assert g2.gw.registry.get("beta") is None and "tenant:beta" in opened
        opened.clear()
        await g2.gw.registry.load_changed()
        assert opened == []
