"""What the documents domain needs to know about a tenant's people, as narrow Protocols: the
account directory (gateway.accounts) answers them; the composition root hands it in."""
from __future__ import annotations

from typing import Mapping, Protocol

from gateway.platform.tenant import Tenant


class Person(Protocol):
    """An addressee of a document as the directory knows it."""

    @property
    def login(self) -> str: ...          # the account's own spelling when known

    @property
    def account_id(self) -> int | None: ...

    @property
    def status(self) -> str | None: ...  # active | pending | departed; None = unknown login

    @property
    def openid(self) -> str | None: ...  # the active binding's openid

    @property
    def name(self) -> str: ...


class PeopleDirectory(Protocol):
    async def recipients(self, tenant: Tenant, logins: list[str]) -> Mapping[str, Person]: ...

    async def recipient(self, tenant: Tenant, login: str) -> Person: ...

    async def account_for_openid(self, tenant: Tenant, openid: str) -> Person | None: ...


class TenantsById(Protocol):
    def by_id(self, tenant_id: int) -> Tenant | None: ...

    def all(self) -> list[Tenant]: ...


class Wakeup(Protocol):
    """The delivery workers of this process: woken after a write so they need not wait for a poll."""

    def wake(self) -> None: ...

    def wake_webhooks(self) -> None: ...
