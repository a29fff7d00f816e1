"""Installs the gateway's optional services in order (token centre, callbacks, accounts,
notifications): each module offers `async def install(gw)` and attaches itself to the gateway."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.core import Gateway

SERVICE_MODULES = ("gateway.tokens", "gateway.callbacks", "gateway.accounts", "gateway.notifications")


async def install_services(gw: "Gateway") -> None:
    for name in SERVICE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        await module.install(gw)
