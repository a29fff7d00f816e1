"""Recipient lookups of concurrent sends are coalesced: one query per tenant per loop turn, each
caller gets its own login's answer, a failure reaches every caller of that query only."""
from __future__ import annotations

import asyncio
from typing import Any


from gateway.documents.recipient_lookup import RecipientLookup
from gateway.platform.tenant import Tenant


class Source:
    def __init__(self, broken: set[int] | None = None) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.broken = broken or set()

    async def recipients(self, tenant: Any, logins: list[str]) -> dict[str, Any]:
        self.calls.append((tenant.slug, sorted(logins)))
        await asyncio.sleep(0)
        if tenant.id in self.broken:
            raise RuntimeError("database down")
        return {login: f"{tenant.slug}/{login}" for login in logins}


def tenant(ident: int, slug: str) -> Any:
    t = Tenant.__new__(Tenant)
    object.__setattr__(t, "id", ident)
    object.__setattr__(t, "slug", slug)
    return t


def test_concurrent_lookups_share_one_query_per_tenant() -> None:
    async def scenario() -> None:
        source = Source()
        lookup = RecipientLookup(source)
        acme, beta = tenant(1, "acme"), tenant(2, "beta")
        asks = [(acme, "zhang"), (acme, "li"), (beta, "zhang"), (acme, "zhang")]
        answers = await asyncio.gather(*(lookup.get(t, login) for t, login in asks))
        assert answers == ["acme/zhang", "acme/li", "beta/zhang", "acme/zhang"]
        assert sorted(source.calls) == [("acme", ["li", "zhang"]), ("beta", ["zhang"])]
        assert await lookup.get(acme, "wang") == "acme/wang"  # a later turn: a new query
        assert lookup.queries == 3

    asyncio.run(scenario())


def test_a_failed_query_fails_its_callers_only() -> None:
    async def scenario() -> None:
        lookup = RecipientLookup(Source(broken={2}))
        ok, failed = await asyncio.gather(lookup.get(tenant(1, "acme"), "zhang"),
                                          lookup.get(tenant(2, "beta"), "zhang"), return_exceptions=True)
        assert ok == "acme/zhang" and isinstance(failed, RuntimeError)

    asyncio.run(scenario())
