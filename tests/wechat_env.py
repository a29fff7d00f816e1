"""A gateway wired to a running WeChat simulator, with the tenants' apps registered in it:
`Simulator` (one simulator on a free loopback port, for tests that run their own gateways or
gateway processes), `register_app` (the app a tenant_body() tenant uses, registered in the
simulator) and `wechat_env` (a gateway whose WeChat is a fresh simulator, tenants created in
both, with helpers for the tenant API, phones, the simulator's counters and clocks)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator

from gateway.platform.clock import Clock
from harness import LoopbackService, Response, RunningGateway, TestEnv, tenant_body
from phone import PASSWORD, Phone, put_account, use_openid
from simulator.client import SimulatorClient
from simulator.server import start_simulator
from simulator.state import SimulatorState
from gateway.platform.tenant import Tenant


def app_id_of(slug: str) -> str:
    """The WeChat app id of tenant `slug` as tenant_body() makes it."""
    return str(tenant_body(slug)["wechat"]["app_id"])


async def register_app(sim: SimulatorClient, slug: str, **fields: Any) -> dict[str, Any]:
    """Register in the simulator the app the gateway tenant `slug` uses (same app_id, secret, token);
    `fields` override (callback_url: where the simulator pushes messages, None for nowhere)."""
    wechat = tenant_body(slug)["wechat"]
    app = {"secret": wechat["app_secret"], "token": wechat["token"], "original_id": wechat["original_id"],
           "message_mode": wechat["message_mode"], "callback_url": None, **fields}
    return await sim.add_app(wechat["app_id"], **app)


class Simulator(LoopbackService):
    """A simulator on a free loopback port: `async with Simulator() as sim:`, or start()/stop()."""

    def __init__(self) -> None:
        self.port = 0
        self.state: SimulatorState
        self.client: SimulatorClient

    async def start(self) -> "Simulator":
        self.state, self.server, self.port = await start_simulator(0)
        self.client = SimulatorClient(self.url)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wechat(self, **settings: Any) -> dict[str, Any]:
        """The gateway's [wechat] settings pointing at this simulator."""
        return {"api_base": self.url, "oauth_base": self.url, **settings}

    async def add_tenant_app(self, slug: str, gateway_url: str | None = None, **fields: Any) -> str:
        """Register the tenant's app; pushes go to `gateway_url`'s callback (nowhere if None). Returns the app id."""
        extra = {"callback_url": f"{gateway_url}/wx/{slug}/callback"} if gateway_url else {}
        await register_app(self.client, slug, **extra, **fields)
        return app_id_of(slug)


@dataclass
class WeChatEnv:
    """What wechat_env() yields. `slug` is the first tenant: `tenant` and `app_id` are its."""
    g: RunningGateway
    sim: SimulatorClient
    state: SimulatorState
    sim_url: str
    keys: dict[str, str]
    slug: str = "acme"

    @property
    def tenant(self) -> Tenant:
        tenant = self.g.gw.registry.get(self.slug)
        assert tenant is not None
        return tenant

    @property
    def app_id(self) -> str:
        return app_id_of(self.slug)

    # ---- the simulator ----------------------------------------------------------------------------
    def count(self, endpoint: str) -> int:
        return self.state.call_count(endpoint)

    def advance(self, seconds: float) -> None:
        """Move WeChat's clock and the gateway's together."""
        self.state.advance(seconds)
        self.g.gw.clock.advance(seconds)

    def ticket_issued(self) -> str:
        return self.state.tokens.tickets[(self.app_id, "jsapi")].value

    async def use_openid(self, slug: str, openid: str, snapshot: bool = False) -> None:
        await use_openid(self.sim, app_id_of(slug), openid, snapshot=snapshot)

    # ---- phones -----------------------------------------------------------------------------------
    def phone(self, slug: str | None = None, cookies: dict[str, str] | None = None, **headers: str) -> Phone:
        slug = slug or self.slug
        return Phone(self.g, slug, sim=self.sim, app_id=app_id_of(slug), cookies=dict(cookies or {}),
                     headers=dict(headers))

    # ---- the tenant API, audit, events, storage ---------------------------------------------------
    async def tenant_api(self, method: str, path: str, body: Any = None, slug: str | None = None,
                         **kw: Any) -> Response:
        slug = slug or self.slug
        return await self.g.request(method, f"/api/v1/{slug}{path}", body, token=self.keys[slug], **kw)

    async def put_account(self, login: str, password: str | None = PASSWORD, slug: str | None = None,
                          **fields: Any) -> Response:
        slug = slug or self.slug
        return await put_account(self.g, slug, self.keys[slug], login, password, **fields)

    async def audit(self, slug: str | None = None) -> list[dict[str, Any]]:
        r = await self.g.admin("GET", f"/admin/api/tenants/{slug or self.slug}/audit?limit=1000")
        return r.json["items"]  # type: ignore[no-any-return]

    async def events(self, slug: str | None = None) -> list[dict[str, Any]]:
        r = await self.tenant_api("GET", "/events?limit=1000", slug=slug)
        return r.json["items"]  # type: ignore[no-any-return]

    async def db_bindings(self, slug: str | None = None) -> list[dict[str, Any]]:
        tenant = self.g.gw.registry.require(slug or self.slug)
        return await self.g.gw.storage.fetchall(
            "SELECT * FROM bindings WHERE tenant_id = ? ORDER BY id", (tenant.id,))


@asynccontextmanager
async def wechat_env(env: TestEnv, slugs: tuple[str, ...] = ("acme",), clock: Clock | None = None,
                     policy: dict[str, Any] | None = None, app: dict[str, Any] | None = None,
                     wechat: dict[str, Any] | None = None, reachable: bool = False,
                     **sections: Any) -> AsyncIterator[WeChatEnv]:
    """A gateway whose WeChat is a fresh simulator, started in this event loop, with tenants `slugs`
    created (with `policy`) and their apps registered in the simulator (with `app`'s fields).
    `wechat` overrides the gateway's [wechat] settings (a 2 s timeout by default); other keyword
    arguments are settings sections. With `reachable`, the public URL is the gateway's own
    address and the simulator pushes to its callbacks, as a real browser and WeChat need."""
    async with Simulator() as simulator:
        async with env.gateway(clock=clock, wechat=simulator.wechat(**{"timeout": 2.0, **(wechat or {})}),
                               reachable=reachable, **sections) as g:
            keys = {}
            for slug in slugs:
                await simulator.add_tenant_app(slug, g.base_url if reachable else None, **(app or {}))
                created = await g.create_tenant(slug, policy=policy or {})
                keys[slug] = created["api_key"]
            yield WeChatEnv(g, simulator.client, simulator.state, simulator.url, keys,
                            slugs[0] if slugs else "acme")
