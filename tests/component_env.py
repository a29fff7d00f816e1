"""A gateway registered as a third-party platform with a WeChat simulator playing Open Platform:
`component_env` starts both (the gateway reachable, so the simulator pushes tickets, authorization
events and messages to it), pushes a first verify ticket, and yields a WeChatEnv plus the platform's
settings. `authorize_in_console` walks 授权接入 over HTTP as the operator's browser would."""
from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import tornado.httpclient

from console_client import ConsoleClient
from harness import TestEnv
from wechat_env import Simulator, WeChatEnv, register_app

COMPONENT_APPID = "wxc0c0c0c0c0c0c0c0"
NEW_APP, NEW_GH = "wx6e65776330303031", "gh_6e6577636f3031"  # an account never connected before
PLATFORM = {"app_id": COMPONENT_APPID, "app_secret": "compSecret2026", "token": "platformToken",
            "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}


@asynccontextmanager
async def component_env(env: TestEnv, slugs: tuple[str, ...] = (), ticket: bool = True,
                        **sections: Any) -> AsyncIterator[WeChatEnv]:
    async with Simulator() as simulator:
        component = {**PLATFORM, "login_page_base": simulator.url, **sections.pop("component", {})}
        async with env.gateway(wechat=simulator.wechat(timeout=2.0), reachable=True, component=component,
                               **sections) as g:
            await simulator.client.configure_component(
                app_id=PLATFORM["app_id"], secret=PLATFORM["app_secret"], token=PLATFORM["token"],
                encoding_aes_key=PLATFORM["encoding_aes_key"], events_url=f"{g.base_url}/wx/component/events",
                message_url=f"{g.base_url}/wx/component/$APPID$/callback")
            if ticket:
                pushed = await simulator.client.push_component_ticket()
                assert pushed["status"] == 200 and pushed["body"] == "success", pushed
            keys = {}
            for slug in slugs:
                await simulator.add_tenant_app(slug, g.base_url)
                keys[slug] = (await g.create_tenant(slug))["api_key"]
            yield WeChatEnv(g, simulator.client, simulator.state, simulator.url, keys, slugs[0] if slugs else "acme")


async def add_account_app(w: WeChatEnv, app_id: str, original_id: str, name: str = "新公司服务号",
                          **fields: Any) -> None:
    """An official account in the simulator that has never been connected to the gateway."""
    await w.sim.add_app(app_id, original_id=original_id, name=name, callback_url=None, **fields)


async def start_in_console(console: ConsoleClient, slug: str, name: str = "") -> str:
    """授权接入 as the console user; returns the computer's authorization link shown on the page."""
    page = await console.post("/console/component", {"slug": slug, "name": name})
    assert page.status == 200, page.text
    match = re.search(r'id="pc-link" href="([^"]+)"', page.text)
    assert match, page.text
    assert 'id="authorization-qr"' in page.text and "<svg" in page.text
    return match.group(1).replace("&amp;", "&")


async def confirm_on_wechat(link: str, app_id: str, funcs: tuple[int, ...] = (1, 2, 3, 4, 7, 11, 15)) -> str:
    """The administrator picks the account and the permissions on WeChat's page; returns the
    gateway path WeChat sends the browser back to."""
    picks = "&".join([f"sim_appid={app_id}", *(f"sim_func={f}" for f in funcs)])
    client = tornado.httpclient.AsyncHTTPClient()
    shown = await client.fetch(link, raise_error=False)
    assert shown.code == 200 and b'id="sim_authorize"' in shown.body, shown.body[:500]
    answer = await client.fetch(f"{link}&{picks}", follow_redirects=False, raise_error=False)
    assert answer.code == 302, answer.body[:500]
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


async def authorize_in_console(w: WeChatEnv, console: ConsoleClient, slug: str, app_id: str, name: str = "",
                               funcs: tuple[int, ...] = (1, 2, 3, 4, 7, 11, 15)) -> Any:
    """The whole 授权接入 over HTTP; returns the console's answer to WeChat's redirect back."""
    link = await start_in_console(console, slug, name)
    return await console.get(await confirm_on_wechat(link, app_id, funcs))


def api_key_on(page_text: str) -> str:
    match = re.search(r'id="secret-0">([^<]+)<', page_text)
    assert match, page_text
    return match.group(1)


__all__ = ["COMPONENT_APPID", "NEW_APP", "NEW_GH", "PLATFORM", "component_env", "add_account_app", "authorize_in_console",
           "start_in_console", "confirm_on_wechat", "api_key_on", "register_app"]


async def operator_console(w: WeChatEnv) -> ConsoleClient:
    """A console session of the operator."""
    console = ConsoleClient(w.g)
    await console.sign_in_operator()
    return console


async def checklist_steps(w: WeChatEnv, slug: str) -> dict[str, dict[str, Any]]:
    """The tenant's onboarding checklist, step by id."""
    return {s["id"]: s for s in (await w.g.admin("GET", f"/admin/api/tenants/{slug}/checklist")).json["steps"]}
