"""Sessions of WeChat users: an HS256 JWT per tenant key naming the account, openid and binding,
worth something only while that binding is still active in storage (checked on every use)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.platform.clock import Clock
from gateway.storage import Storage
from gateway.platform.tenant import Tenant

SESSION_TYPE = "gw-session"
ALGORITHMS = ["HS256"]
IAT_LEEWAY = 30.0  # seconds of clock skew tolerated between gateway hosts
MAX_TOKEN_CHARS = 4096


@dataclass
class Session:
    tenant: Tenant
    account_id: int
    login: str
    openid: str
    binding_id: int
    must_change_password: bool = False


def tenant_key(session_key: str, slug: str) -> bytes:
    """One signing key per tenant, so a token of tenant A cannot even be verified at tenant B."""
    return hmac.new(session_key.encode("utf-8"), slug.encode("utf-8"), hashlib.sha256).digest()


class SessionStore:
    def __init__(self, storage: Storage, clock: Clock, session_key: str, hours: float) -> None:
        if not session_key:
            raise ValueError("[security] session_key is empty")
        self.storage, self.clock = storage, clock
        self._session_key = session_key
        self.lifetime = max(60.0, float(hours) * 3600.0)

    @property
    def max_age(self) -> int:
        return int(self.lifetime)

    def issue(self, tenant: Tenant, account_id: int, login: str, openid: str, binding_id: int) -> str:
        now = int(self.clock.now())
        claims = {"aud": tenant.slug, "sub": login, "acc": account_id, "oid": openid, "bid": binding_id,
                  "iat": now, "exp": now + int(self.lifetime), "typ": SESSION_TYPE}
        return jwt.encode(claims, tenant_key(self._session_key, tenant.slug), algorithm="HS256")

    def decode(self, tenant: Tenant, token: str) -> dict[str, Any] | None:
        """The claims of a well-formed, correctly signed, unexpired token of this tenant, else None."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            # exp and iat must be present (require) but are judged below on the gateway's clock,
            # which tests and hosts may shift; PyJWT would use the wall clock.
            claims: dict[str, Any] = jwt.decode(
                token, tenant_key(self._session_key, tenant.slug), algorithms=ALGORITHMS,
                audience=tenant.slug,
                options={"require": ["exp", "iat", "aud", "sub"], "verify_exp": False, "verify_iat": False,
                         "strict_aud": True})
        except jwt.PyJWTError:
            return None
        now = self.clock.now()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
            return None
        if now >= exp or iat > now + IAT_LEEWAY or exp - iat > self.lifetime + IAT_LEEWAY:
            return None
        if claims.get("typ") != SESSION_TYPE:
            return None
        if not all(isinstance(claims.get(k), int) and not isinstance(claims.get(k), bool) for k in ("acc", "bid")):
            return None
        if not isinstance(claims.get("oid"), str) or not isinstance(claims.get("sub"), str):
            return None
        return claims

    async def current(self, tenant: Tenant, token: str) -> Session | None:
        claims = self.decode(tenant, token)
        if claims is None:
            return None
        # Active-only columns match only while the binding lives: logout, password change,
        # unbind or departure anywhere makes this return nothing at once.
        row = await self.storage.fetchone(
            "SELECT b.id, b.account_id, b.openid, a.login, a.must_change_password FROM bindings b"
            " JOIN accounts a ON a.id = b.account_id AND a.tenant_id = b.tenant_id"
            " WHERE b.tenant_id = ? AND b.id = ? AND b.active_account = ? AND b.active_openid = ?"
            " AND a.status = 'active'",
            (tenant.id, claims["bid"], claims["acc"], claims["oid"]))
        if row is None:
            return None
        return Session(tenant=tenant, account_id=int(row["account_id"]), login=str(row["login"]),
                       openid=str(row["openid"]), binding_id=int(row["id"]),
                       must_change_password=bool(row["must_change_password"]))
