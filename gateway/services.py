"""Installs the gateway's services in order (token centre, callbacks, accounts,
notifications): each module offers `async def install(gw)` and attaches itself to the gateway."""
from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.accounts import service as accounts
from gateway.callbacks import pipeline as callbacks
from gateway.documents import workers as notifications
from gateway.tokens import centre as tokens

if TYPE_CHECKING:
    from gateway.root import Gateway


async def install_services(gw: "Gateway") -> None:
    for module in (tokens, callbacks, accounts, notifications):
        await module.install(gw)
    gw.callbacks.bind_scans = gw.accounts.bind_qr
