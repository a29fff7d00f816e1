"""A tenant's `policy` settings (login limits, password rules, first-login change, self-registration)
as the admin API and the console accept them: every problem named. The rules themselves are
applied by gateway.accounts."""
from __future__ import annotations

from typing import Any

# The seed system's 密码复杂度控制: character classes a tenant may require ("letter" is any letter;
# "upper" and "lower" ask for an upper-case and a lower-case one separately).
CLASSES: tuple[str, ...] = ("digit", "letter", "upper", "lower", "symbol")


def _int_in(value: Any, low: int, high: int) -> bool:
    # bool is an int subclass; an admin sending true for a count is a mistake.
    return type(value) is int and low <= value <= high


def _classes_ok(value: Any) -> bool:
    return (
        type(value) is list
        and all(isinstance(v, str) and v in CLASSES for v in value)
        and len(set(value)) == len(value)
    )


_INT_SETTINGS: dict[str, tuple[int, int]] = {
    "max_login_failures": (1, 100),
    "lockout_minutes": (0, 10080),
    "password_min_length": (8, 128),
}
_BOOL_SETTINGS = ("first_login_change_password", "allow_mobile_registration")
_ALL_SETTINGS = (*_INT_SETTINGS, "password_classes", *_BOOL_SETTINGS)


def validate_policy_settings(data: dict[str, Any]) -> list[str]:
    """Problems with a tenant ``policy`` object (empty list = ok). Keys may be omitted."""
    if not isinstance(data, dict):
        return ["policy must be an object"]
    problems: list[str] = []
    for key in _ALL_SETTINGS:
        if key not in data:
            continue
        value = data[key]
        if key in _INT_SETTINGS:
            low, high = _INT_SETTINGS[key]
            if not _int_in(value, low, high):
                problems.append(f"policy.{key} must be an integer from {low} to {high}")
        elif key == "password_classes":
            if not _classes_ok(value):
                problems.append(
                    f"policy.{key} must be a list of distinct values from {', '.join(CLASSES)}"
                )
        elif type(value) is not bool:
            problems.append(f"policy.{key} must be true or false")
    unknown = sorted(str(k) for k in data if k not in _ALL_SETTINGS)
    problems += [f"policy.{key} is not a known setting" for key in unknown]
    return problems
