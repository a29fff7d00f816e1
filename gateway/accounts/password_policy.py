"""A tenant's password rules: length, character classes, common passwords."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.platform.policy_settings import CLASSES

__all__ = [
    "CLASSES",
    "PasswordPolicy",
    "WeakPassword",
    "check_password",
    "common_passwords",
    "password_problems",
    "policy_description",
]

MIN_CONTEXT_WORD = 4
_COMMON_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
_WORD_SPLIT = re.compile(r"[\s\W_]+")

_CLASS_ZH = {"digit": "数字", "letter": "字母", "upper": "大写字母", "lower": "小写字母", "symbol": "符号"}
_CLASS_EN = {"digit": "a digit", "letter": "a letter", "upper": "an upper-case letter",
             "lower": "a lower-case letter", "symbol": "a symbol"}


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
    """A password the policy refuses; ``rule`` is machine-readable, ``message`` is for people;
    ``broken`` holds every rule the password breaks (this one first)."""

    def __init__(self, rule: str, message: str, broken: "tuple[WeakPassword, ...]" = ()) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.broken: tuple[WeakPassword, ...] = broken or (self,)


def _has_class(password: str, cls: str) -> bool:
    if cls == "digit":
        return any(ch.isdigit() for ch in password)
    if cls == "letter":
        return any(ch.isalpha() for ch in password)
    if cls == "upper":
        return any(ch.isupper() for ch in password)
    if cls == "lower":
        return any(ch.islower() for ch in password)
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


def password_problems(policy: PasswordPolicy, password: str, context_words: Iterable[str] = ()) -> list[WeakPassword]:
    """Every rule the password breaks, in the policy's order; the password is taken as typed."""
    problems: list[WeakPassword] = []
    length = len(password)
    if length < policy.min_length:
        problems.append(WeakPassword(
            "too_short",
            f"密码至少需要 {policy.min_length} 个字符 / at least {policy.min_length} characters",
        ))
    if length > policy.max_length:
        # Nothing else is looked at in an over-long text (it may be pasted garbage, or an attack).
        return [WeakPassword(
            "too_long",
            f"密码最多 {policy.max_length} 个字符 / at most {policy.max_length} characters",
        )]
    for cls in CLASSES:
        if cls in policy.classes and not _has_class(password, cls):
            problems.append(WeakPassword(
                f"missing_{cls}", f"密码必须包含{_CLASS_ZH[cls]} / must contain {_CLASS_EN[cls]}"
            ))
    if password.lower() in common_passwords():
        problems.append(WeakPassword("common", "密码太常见，请换一个 / this password is too common"))
    folded = password.casefold()
    if any(fragment in folded for fragment in _context_fragments(context_words)):
        problems.append(WeakPassword(
            "contains_context",
            "密码不能包含账号、姓名或单位名称 / must not contain your login, name or organisation",
        ))
    return problems


def check_password(policy: PasswordPolicy, password: str, context_words: Iterable[str] = ()) -> None:
    """Raise WeakPassword for the first rule the password breaks, carrying all of them in
    ``broken``; the password is taken as typed."""
    problems = password_problems(policy, password, context_words)
    if problems:
        first = problems[0]
        raise WeakPassword(first.rule, first.message, tuple(problems))


def policy_description(policy: PasswordPolicy) -> list[str]:
    lines = [f"至少 {policy.min_length} 个字符", f"最多 {policy.max_length} 个字符"]
    lines += [f"必须包含{_CLASS_ZH[cls]}" for cls in CLASSES if cls in policy.classes]
    lines += ["不能是常见密码", "不能包含账号、姓名或单位名称"]
    return lines


@functools.cache
def common_passwords() -> frozenset[str]:
    with _COMMON_FILE.open(encoding="utf-8") as fh:
        return frozenset(
            line.strip().lower() for line in fh if line.strip() and not line.startswith("#")
        )
