"""Installs the gateway's services in order (token centre, callbacks, accounts,
notifications): each module offers `async def install(gw)` and attaches itself to the gateway."""
from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import accounts, callbacks, notifications, tokens

if TYPE_CHECKING:
    from gateway.core import Gateway


async def install_services(gw: "Gateway") -> None:
    for module in (tokens, callbacks, accounts, notifications):
        await module.install(gw)
