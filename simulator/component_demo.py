"""The demo's second mode: the gateway as a third-party platform (授权接入). The simulator plays
WeChat's Open Platform (verify tickets every 10 minutes, the authorization page, pushes under the
platform's keys) and holds a second service account that nobody has connected yet: in the console,
授权接入 connects it by scanning, with no AppSecret handed over."""
from __future__ import annotations

import logging

from gateway.root import Gateway
from simulator.state import SimulatorState

log = logging.getLogger("gateway.demo")

AUTHORIZED_APP_ID = "wxdemo000000000002"
AUTHORIZED_GH = "gh_demo0000002"
TICKET_EVERY = 600.0


async def start_component_demo(gw: Gateway, state: SimulatorState, sim_url: str, url_host: str) -> None:
    comp = gw.settings.component
    if not comp.enabled:
        return
    gw.component.onboarding.use_pages(sim_url, sim_url)
    state.add_app(AUTHORIZED_APP_ID, original_id=AUTHORIZED_GH, name="演示服务号（授权接入）", callback_url=None,
                  oauth_domains=[url_host])
    state.component.configure(app_id=comp.app_id, secret=comp.app_secret, token=comp.token,
                              encoding_aes_key=comp.encoding_aes_key,
                              events_url=f"{gw.public_url}/wx/component/events",
                              message_url=f"{gw.public_url}/wx/component/$APPID$/callback", ticket_every=TICKET_EVERY)
    gw.on_stop(_stop_timer(state))
    print("  Third-party platform mode: in the console open 授权接入, enter a new company code (demo2), click"
          " 在电脑上打开授权页面 and pick 演示服务号（授权接入）: no AppSecret changes hands", flush=True)


def _stop_timer(state: SimulatorState):  # type: ignore[no-untyped-def]
    async def stop() -> None:
        state.component.stop_timer()
    return stop
