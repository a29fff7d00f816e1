"""A tenant's password rules: length, character classes, common passwords."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CLASSES",
    "PasswordPolicy",
    "WeakPassword",
    "check_password",
    "common_passwords",
    "policy_description",
    "validate_policy_settings",
]

CLASSES: tuple[str, ...] = ("digit", "letter", "symbol")
MIN_CONTEXT_WORD = 4
_COMMON_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
_WORD_SPLIT = re.compile(r"[\s\W_]+")

_CLASS_ZH = {"digit": "数字", "letter": "字母", "symbol": "符号"}
_CLASS_EN = {"digit": "a digit", "letter": "a letter", "symbol": "a symbol"}


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = 8
    classes: tuple[str, ...] = ()
    max_length: int = 128

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        unknown = [c for c in self.classes if c not in CLASSES]
        if unknown:
            raise ValueError(f"unknown password classes: {unknown}")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("need 1 <= min_length <= max_length")


class WeakPassword(Exception):
    """A password the policy refuses; ``rule`` is machine-readable, ``message`` is for people."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _has_class(password: str, cls: str) -> bool:
    if cls == "digit":
        return any(ch.isdigit() for ch in password)
    if cls == "letter":
        return any(ch.isalpha() for ch in password)
    return any(not ch.isdigit() and not ch.isalpha() for ch in password)


def _context_fragments(context_words: Iterable[str]) -> set[str]:
    """Each context value whole and split into words, casefolded, keeping those of 4+ chars."""
    fragments: set[str] = set()
    for value in context_words:
        if not isinstance(value, str):
            continue
        folded = value.strip().casefold()
        for fragment in (folded, *_WORD_SPLIT.split(folded)):
            if len(fragment) >= MIN_CONTEXT_WORD:
                fragments.add(fragment)
    return fragments


def check_password(policy: PasswordPolicy, password: str, context_words: Iterable[str] = ()) -> None:
    """Raise WeakPassword for the first rule the password breaks; the password is taken as typed."""
    length = len(password)
    if length < policy.min_length:
        raise WeakPassword(
            "too_short",
            f"密码至少需要 {policy.min_length} 个字符 / at least {policy.min_length} characters",
        )
    if length > policy.max_length:
        raise WeakPassword(
            "too_long",
            f"密码最多 {policy.max_length} 个字符 / at most {policy.max_length} characters",
        )
    for cls in CLASSES:
        if cls in policy.classes and not _has_class(password, cls):
            raise WeakPassword(
                f"missing_{cls}", f"密码必须包含{_CLASS_ZH[cls]} / must contain {_CLASS_EN[cls]}"
            )
    if password.lower() in common_passwords():
        raise WeakPassword("common", "密码太常见，请换一个 / this password is too common")
    folded = password.casefold()
    if any(fragment in folded for fragment in _context_fragments(context_words)):
        raise WeakPassword(
            "contains_context",
            "密码不能包含账号、姓名或单位名称 / must not contain your login, name or organisation",
        )


def policy_description(policy: PasswordPolicy) -> list[str]:
    lines = [f"至少 {policy.min_length} 个字符", f"最多 {policy.max_length} 个字符"]
    lines += [f"必须包含{_CLASS_ZH[cls]}" for cls in CLASSES if cls in policy.classes]
    lines += ["不能是常见密码", "不能包含账号、姓名或单位名称"]
    return lines


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


@functools.cache
def common_passwords() -> frozenset[str]:
    with _COMMON_FILE.open(encoding="utf-8") as fh:
        return frozenset(
            line.strip().lower() for line in fh if line.strip() and not line.startswith("#")
        )
