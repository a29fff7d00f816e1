"""The rules an account's fields and a new password must follow: login spelling and its lookup
key, text limits, the tenant's password policy, and hashing a new password with the errors
people see. Pure checks, shared by the service, sign-in and the import."""
from __future__ import annotations

import unicodedata
from typing import Any

from gateway.accounts.password_policy import PasswordPolicy, WeakPassword, check_password
from gateway.accounts.passwords import BUSY_MESSAGE, HasherOverloaded, PasswordHasher, Requester
from gateway.platform.errors import Busy, Invalid, WeakPasswordError
from gateway.platform.tenant import Tenant

KINDS = ("employee", "customer", "supplier")
MAX_LOGIN_CHARS = 64
MAX_TEXT_CHARS = 100
ACCOUNT_FIELDS = ("name", "kind", "position", "password", "active")
def normalise_login(login: str) -> str:
    """The lookup key of a login: NFKC-normalised, case-folded, without surrounding spaces."""
    return unicodedata.normalize("NFKC", login).casefold().strip()


def login_problem(login: Any) -> str | None:
    if not isinstance(login, str) or not login.strip():
        return "login is required"
    text = login.strip()
    if len(text) > MAX_LOGIN_CHARS:
        return f"login must be at most {MAX_LOGIN_CHARS} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch in "/\\?#" for ch in text):
        return "login must not contain control characters or / \\ ? #"
    if not normalise_login(text):
        return "login is required"
    return None


def text_problem(field: str, value: Any, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{field} is required" if required else None
    if not isinstance(value, str):
        return f"{field} must be a string"
    if len(value.strip()) > MAX_TEXT_CHARS:
        return f"{field} must be at most {MAX_TEXT_CHARS} characters"
    return None


def password_policy(tenant: Tenant) -> PasswordPolicy:
    policy = tenant.policy
    return PasswordPolicy(min_length=int(policy["password_min_length"]),
                          classes=tuple(policy["password_classes"] or ()))


def check_new_password(tenant: Tenant, password: Any, login: str, name: str) -> str:
    """The password if the tenant's policy accepts it, else 400 weak_password naming the rule."""
    if not isinstance(password, str):
        raise Invalid("password must be a string", {"field": "password"})
    try:
        check_password(password_policy(tenant), password, (login, name, tenant.name, tenant.slug))
    except WeakPassword as weak:
        # Every broken rule at once, so a person fixes them in one go, not one per try.
        zh = "；".join(w.message.split(" / ")[0] for w in weak.broken)
        en = "; ".join(w.message.split(" / ")[-1] for w in weak.broken)
        raise WeakPasswordError(f"{zh} / {en}", {"rule": weak.rule, "rules": [w.rule for w in weak.broken],
                                                 "problems": [w.message for w in weak.broken]}) from None
    return password


async def hash_new_password(hasher: PasswordHasher, password: str, requester: Requester | None = None) -> str:
    """The hash of a password that passed the policy; 503 `busy` when the hashing queue (or the
    requester's share of it) is full."""
    try:
        return await hasher.hash(password, requester)
    except HasherOverloaded:
        raise Busy(BUSY_MESSAGE) from None
    except ValueError:
        raise WeakPasswordError("the password is too long", {"rule": "too_long"}) from None
