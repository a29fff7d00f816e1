"""Recipient lookups of concurrent template sends coalesced: every (tenant, login) asked for within
one turn of the event loop is read with one query per tenant, instead of one query (and one trip
to the database thread) per send. Each send still reads the binding at send time."""
from __future__ import annotations

import asyncio
from typing import Any, Mapping, Protocol

from gateway.platform.tenant import Tenant


class RecipientSource(Protocol):
    async def recipients(self, tenant: Tenant, logins: list[str]) -> Mapping[str, Any]: ...


class RecipientLookup:
    def __init__(self, source: RecipientSource) -> None:
        self.source = source
        self._pending: dict[int, tuple[Tenant, dict[str, list[asyncio.Future[Any]]]]] = {}
        self._scheduled = False
        self.queries = 0  # lookups sent to the source (the tests read it)

    async def get(self, tenant: Tenant, login: str) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.setdefault(tenant.id, (tenant, {}))[1].setdefault(login, []).append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._pending, self._scheduled = self._pending, {}, False
        for tenant, waiting in batch.values():
            asyncio.ensure_future(self._lookup(tenant, waiting))

    async def _lookup(self, tenant: Tenant, waiting: dict[str, list[asyncio.Future[Any]]]) -> None:
        self.queries += 1
        try:
            found = await self.source.recipients(tenant, list(waiting))
        except BaseException as exc:
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("lookup cancelled"))
            if not isinstance(exc, Exception):
                raise
            return
        for login, futures in waiting.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(login))
