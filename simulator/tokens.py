"""Global access tokens (classic and stable families) and JS-SDK tickets with WeChat's lifetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.common import Clock, WxError, random_token
from simulator.models import App

OVERLAP_SECONDS = 300  # a superseded classic token keeps working this long
STABLE_RENEW_BEFORE = 300  # the platform renews a stable token this close to its expiry
STABLE_FORCE_PER_DAY = 20
STABLE_FORCE_INTERVAL = 30
TICKET_TTL = 7200
TICKET_TYPES = ("jsapi", "wx_card")


@dataclass
class IssuedToken:
    value: str
    app_id: str
    family: str  # "classic" or "stable"
    issued_at: float
    expires_at: float
    revoked_at: float | None = None

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


@dataclass
class Ticket:
    value: str
    expires_at: float


@dataclass
class _StableLimits:
    day: int = -1
    forced_today: int = 0
    last_forced: float | None = None


@dataclass
class TokenStore:
    clock: Clock
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    tickets: dict[tuple[str, str], Ticket] = field(default_factory=dict)
    _stable: dict[str, _StableLimits] = field(default_factory=dict)

    def _issue(self, app: App, family: str) -> IssuedToken:
        now = self.clock.now()
        # Real tokens are ~136 chars of [A-Za-z0-9_-]; the gateway must store at least 512.
        token = IssuedToken(random_token(136), app.app_id, family, now, now + app.token_ttl)
        self.tokens[token.value] = token
        return token

    def _family(self, app_id: str, family: str) -> list[IssuedToken]:
        return [t for t in self.tokens.values() if t.app_id == app_id and t.family == family]

    def issue_classic(self, app: App) -> dict[str, Any]:
        deadline = self.clock.now() + OVERLAP_SECONDS
        for old in self._family(app.app_id, "classic"):
            if old.revoked_at is None or old.revoked_at > deadline:
                old.revoked_at = deadline
        token = self._issue(app, "classic")
        return {"access_token": token.value, "expires_in": app.token_ttl}

    def issue_stable(self, app: App, force_refresh: bool) -> dict[str, Any]:
        now = self.clock.now()
        current = self._latest_stable(app.app_id)
        if not force_refresh:
            if current is not None and current.remaining(now) > STABLE_RENEW_BEFORE:
                return {"access_token": current.value, "expires_in": current.remaining(now)}
            token = self._issue(app, "stable")  # the old one lives out its own expiry
            return {"access_token": token.value, "expires_in": app.token_ttl}
        limits = self._stable.setdefault(app.app_id, _StableLimits())
        if limits.day != self.clock.day():
            limits.day, limits.forced_today = self.clock.day(), 0
        if limits.forced_today >= STABLE_FORCE_PER_DAY:
            raise WxError(45009)
        if limits.last_forced is not None and now - limits.last_forced < STABLE_FORCE_INTERVAL:
            raise WxError(45011)
        limits.forced_today += 1
        limits.last_forced = now
        for old in self._family(app.app_id, "stable"):
            if old.revoked_at is None or old.revoked_at > now:
                old.revoked_at = now
        token = self._issue(app, "stable")
        return {"access_token": token.value, "expires_in": app.token_ttl}

    def _latest_stable(self, app_id: str) -> IssuedToken | None:
        now = self.clock.now()
        live = [
            t
            for t in self._family(app_id, "stable")
            if t.expires_at > now and (t.revoked_at is None or t.revoked_at > now)
        ]
        return max(live, key=lambda t: t.issued_at) if live else None

    def app_for(self, value: str) -> str | None:
        token = self.tokens.get(value)
        return token.app_id if token is not None else None

    def check(self, value: str | None) -> IssuedToken:
        """The token if usable now, else the WeChat error for it."""
        if not value:
            raise WxError(41001)
        token = self.tokens.get(value)
        if token is None:
            raise WxError(40001)
        now = self.clock.now()
        if token.revoked_at is not None and now >= token.revoked_at and token.revoked_at <= token.expires_at:
            raise WxError(40001)
        if now >= token.expires_at:
            raise WxError(42001)
        return token

    def invalidate(self, app_id: str) -> int:
        now = self.clock.now()
        count = 0
        for token in self.tokens.values():
            if token.app_id == app_id and (token.revoked_at is None or token.revoked_at > now):
                token.revoked_at = now
                count += 1
        return count

    def ticket(self, app_id: str, ticket_type: str) -> dict[str, Any]:
        if ticket_type not in TICKET_TYPES:
            raise WxError(40097)
        now = self.clock.now()
        current = self.tickets.get((app_id, ticket_type))
        if current is None or current.expires_at - now <= STABLE_RENEW_BEFORE:
            current = Ticket(random_token(86), now + TICKET_TTL)
            self.tickets[(app_id, ticket_type)] = current
        remaining = int(current.expires_at - now)
        return {"errcode": 0, "errmsg": "ok", "ticket": current.value, "expires_in": remaining}
