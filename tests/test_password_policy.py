"""Tests for gateway.accounts.password_policy: length, classes, common and context words, admin settings."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.platform.policy_settings import validate_policy_settings
from gateway.accounts.password_policy import (
    password_problems,
    PasswordPolicy,
    WeakPassword,
    check_password,
    common_passwords,
    policy_description,
)

DEFAULT = PasswordPolicy()


def rule_of(policy: PasswordPolicy, password: str, context: tuple[str, ...] = ()) -> str | None:
    try:
        check_password(policy, password, context)
    except WeakPassword as exc:
        assert exc.message and exc.rule
        assert str(exc) == exc.message
        return exc.rule
    return None


def test_length_bounds() -> None:
    assert rule_of(DEFAULT, "Zq7#kLm") == "too_short"
    assert rule_of(DEFAULT, "Zq7#kLmP") is None
    assert rule_of(DEFAULT, "k" * 127 + "Z") is None
    assert rule_of(DEFAULT, "k" * 128 + "Z") == "too_long"
    assert rule_of(DEFAULT, "") == "too_short"


def test_length_counts_characters_as_typed() -> None:
    assert rule_of(DEFAULT, "长城黄河泰山昆仑") is None  # 8 characters, 24 bytes
    assert rule_of(DEFAULT, "长城黄河泰山昆") == "too_short"
    assert rule_of(DEFAULT, "🐼🐉🏯🍵🥟🏮🎋🧧") is None
    # no stripping: surrounding spaces count
    assert rule_of(DEFAULT, " qz7kLm ") is None


def test_custom_min_length_message() -> None:
    policy = PasswordPolicy(min_length=12)
    with pytest.raises(WeakPassword) as info:
        check_password(policy, "Zq7#kLmPw1")
    assert info.value.rule == "too_short"
    assert "12" in info.value.message
    assert "密码至少需要 12 个字符" in info.value.message


def test_no_composition_rules_by_default() -> None:
    assert rule_of(DEFAULT, "purple elephants dance quietly") is None
    assert rule_of(DEFAULT, "zqxjvkmwpt") is None
    assert rule_of(DEFAULT, "83920174650") is None
    assert rule_of(DEFAULT, "!@#$%^&*()_+~") is None


@pytest.mark.parametrize(
    ("classes", "password", "rule"),
    [
        (("digit",), "zqxjvkmwpt", "missing_digit"),
        (("digit",), "zqxjvkmwp7", None),
        (("digit",), "zqxjvkmwp٣", None),  # Arabic-Indic digit is a digit
        (("letter",), "83920174650", "missing_letter"),
        (("letter",), "8392017465密", None),  # any Unicode letter counts
        (("letter",), "8392017465é", None),
        (("symbol",), "zqxjvkmwp7", "missing_symbol"),
        (("symbol",), "zqxjvkmwp 7", None),  # space is a symbol
        (("symbol",), "zqxjvkmwp🙂", None),  # so is an emoji
        (("symbol",), "zqxjvkmwp-7", None),
        (("digit", "letter", "symbol"), "zqxjvkmwpt", "missing_digit"),
        (("digit", "letter", "symbol"), "zqxjvkmwp7", "missing_symbol"),
        (("digit", "letter", "symbol"), "9384-2710#", "missing_letter"),
        (("digit", "letter", "symbol"), "zqx-jvk#7m", None),
        # Upper and lower case are classes of their own; "letter" is satisfied by either.
        (("upper",), "zqxjvkmwp7", "missing_upper"),
        (("upper",), "zqxjvKmwp7", None),
        (("lower",), "ZQXJVKMWP7", "missing_lower"),
        (("lower",), "ZQXJVKMWp7", None),
        (("upper", "lower"), "密码密码密码密码密码", "missing_upper"),  # a letter without case is neither
        (("letter",), "ZQXJVKMWP7", None),
        (("digit", "upper", "lower", "symbol"), "Zqx-jvk#7m", None),
    ],
)
def test_classes(classes: tuple[str, ...], password: str, rule: str | None) -> None:
    assert rule_of(PasswordPolicy(classes=classes), password) == rule


@pytest.mark.parametrize(
    "password",
    ["password", "PassWord123", "PASSWORD1", "12345678", "88888888", "woaini1314", "1qaz2wsx",
     "P@ssw0rd", "qwertyuiop"],
)
def test_common_passwords_refused_case_insensitively(password: str) -> None:
    assert rule_of(DEFAULT, password) == "common"


def test_common_list_contents() -> None:
    common = common_passwords()
    assert common is common_passwords()  # loaded once
    assert len(common) >= 1000
    assert all(w == w.lower() and len(w) >= 8 and not w.startswith("#") for w in common)
    for required in (
        "password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop", "11111111",
        "88888888", "66666666", "a1234567", "abc12345", "woaini1314", "1qaz2wsx", "p@ssw0rd",
        "password123",
    ):
        assert required in common


def test_common_checked_after_classes() -> None:
    assert rule_of(PasswordPolicy(classes=("symbol",)), "password123") == "missing_symbol"
    assert rule_of(PasswordPolicy(classes=("symbol",)), "p@ssw0rd") == "common"


def test_context_words_refused() -> None:
    ctx = ("zhangwei", "acme-logistics", "张伟", "Acme Logistics Ltd")
    assert rule_of(DEFAULT, "ZhangWei-2024!", ctx) == "contains_context"
    assert rule_of(DEFAULT, "i love LOGISTICS so much", ctx) == "contains_context"
    assert rule_of(DEFAULT, "my acme password", ctx) == "contains_context"
    # words shorter than 4 characters are not checked ("Ltd", "张伟")
    assert rule_of(DEFAULT, "ltd-ltd-ltd-zq", ctx) is None
    assert rule_of(DEFAULT, "张伟的新密码很长很长", ctx) is None
    assert rule_of(DEFAULT, "unrelated passphrase here", ctx) is None


def test_context_whole_chinese_name() -> None:
    ctx = ("北京顺达物流有限公司",)
    assert rule_of(DEFAULT, "我在北京顺达物流有限公司上班", ctx) == "contains_context"
    assert rule_of(DEFAULT, "我在顺达上班很开心", ctx) is None


def test_context_ignores_empty_and_non_strings() -> None:
    assert rule_of(DEFAULT, "unrelated passphrase", ("", "   ", None)) is None  # type: ignore[arg-type]


def test_messages_are_bilingual() -> None:
    cases: list[tuple[PasswordPolicy, str, tuple[str, ...]]] = [
        (DEFAULT, "short", ()),
        (DEFAULT, "x" * 129, ()),
        (PasswordPolicy(classes=("digit",)), "zqxjvkmwpt", ()),
        (PasswordPolicy(classes=("letter",)), "83920174650", ()),
        (PasswordPolicy(classes=("symbol",)), "zqxjvkmwpt", ()),
        (DEFAULT, "Password123", ()),
        (DEFAULT, "myloginname!", ("myloginname",)),
    ]
    rules = set()
    for policy, pw, ctx in cases:
        with pytest.raises(WeakPassword) as info:
            check_password(policy, pw, ctx)
        msg = info.value.message
        rules.add(info.value.rule)
        assert " / " in msg
        assert any("\u4e00" <= ch <= "\u9fff" for ch in msg)
        assert pw not in msg
    assert rules == {
        "too_short", "too_long", "missing_digit", "missing_letter", "missing_symbol", "common",
        "contains_context",
    }


def test_policy_description() -> None:
    assert policy_description(DEFAULT)[0] == "至少 8 个字符"
    assert not any("必须包含" in line for line in policy_description(DEFAULT))
    lines = policy_description(PasswordPolicy(min_length=10, classes=("symbol", "digit")))
    assert "至少 10 个字符" in lines
    assert lines.index("必须包含数字") < lines.index("必须包含符号")
    assert "必须包含字母" not in lines


def test_policy_object_validation() -> None:
    assert PasswordPolicy(classes=["digit"]).classes == ("digit",)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PasswordPolicy(classes=("uppercase",))
    with pytest.raises(ValueError):
        PasswordPolicy(min_length=200)


GOOD: dict[str, Any] = {
    "max_login_failures": 5,
    "lockout_minutes": 30,
    "password_min_length": 8,
    "password_classes": ["digit", "letter"],
    "first_login_change_password": True,
    "allow_mobile_registration": False,
}


def test_validate_policy_settings_good() -> None:
    assert validate_policy_settings(GOOD) == []
    assert validate_policy_settings({}) == []
    edges = {
        "max_login_failures": 100,
        "lockout_minutes": 0,
        "password_min_length": 128,
        "password_classes": [],
    }
    assert validate_policy_settings(edges) == []
    assert validate_policy_settings({"max_login_failures": 1, "lockout_minutes": 10080}) == []
    assert validate_policy_settings({"password_classes": ["symbol", "letter", "digit"]}) == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max_login_failures", 0, "policy.max_login_failures must be an integer from 1 to 100"),
        ("max_login_failures", -3, "policy.max_login_failures must be an integer from 1 to 100"),
        ("max_login_failures", 101, "policy.max_login_failures must be an integer from 1 to 100"),
        ("max_login_failures", "5", "policy.max_login_failures must be an integer from 1 to 100"),
        ("max_login_failures", 5.0, "policy.max_login_failures must be an integer from 1 to 100"),
        ("max_login_failures", True, "policy.max_login_failures must be an integer from 1 to 100"),
        ("lockout_minutes", -1, "policy.lockout_minutes must be an integer from 0 to 10080"),
        ("lockout_minutes", 10**12, "policy.lockout_minutes must be an integer from 0 to 10080"),
        ("lockout_minutes", None, "policy.lockout_minutes must be an integer from 0 to 10080"),
        ("password_min_length", 7, "policy.password_min_length must be an integer from 8 to 128"),
        ("password_min_length", 0, "policy.password_min_length must be an integer from 8 to 128"),
        ("password_min_length", 129, "policy.password_min_length must be an integer from 8 to 128"),
        ("password_min_length", 2**64, "policy.password_min_length must be an integer from 8 to 128"),
        ("password_classes", ["digit", "digit"],
         "policy.password_classes must be a list of distinct values from digit, letter, upper, lower, symbol"),
        ("password_classes", ["uppercase"],
         "policy.password_classes must be a list of distinct values from digit, letter, upper, lower, symbol"),
        ("password_classes", "digit",
         "policy.password_classes must be a list of distinct values from digit, letter, upper, lower, symbol"),
        ("password_classes", [1],
         "policy.password_classes must be a list of distinct values from digit, letter, upper, lower, symbol"),
        ("password_classes", {"digit": True},
         "policy.password_classes must be a list of distinct values from digit, letter, upper, lower, symbol"),
        ("first_login_change_password", 1,
         "policy.first_login_change_password must be true or false"),
        ("first_login_change_password", "true",
         "policy.first_login_change_password must be true or false"),
        ("allow_mobile_registration", 0, "policy.allow_mobile_registration must be true or false"),
        ("allow_mobile_registration", None,
         "policy.allow_mobile_registration must be true or false"),
    ],
)
def test_validate_policy_settings_bad(key: str, value: Any, expected: str) -> None:
    assert validate_policy_settings({**GOOD, key: value}) == [expected]


def test_validate_policy_settings_unknown_keys_and_many_problems() -> None:
    problems = validate_policy_settings(
        {**GOOD, "max_login_failures": 0, "password_max_age_days": 90, "Lockout_Minutes": 5}
    )
    assert problems == [
        "policy.max_login_failures must be an integer from 1 to 100",
        "policy.Lockout_Minutes is not a known setting",
        "policy.password_max_age_days is not a known setting",
    ]


def test_validate_policy_settings_not_a_dict() -> None:
    assert validate_policy_settings([1, 2]) == ["policy must be an object"]  # type: ignore[arg-type]
    assert validate_policy_settings(None) == ["policy must be an object"]  # type: ignore[arg-type]


def test_every_broken_rule_is_listed() -> None:
    policy = PasswordPolicy(min_length=12, classes=("digit", "upper", "lower", "symbol"))
    with pytest.raises(WeakPassword) as info:
        check_password(policy, "password", ("someone",))
    assert info.value.rule == "too_short"
    assert [w.rule for w in info.value.broken] == ["too_short", "missing_digit", "missing_upper", "missing_symbol",
                                                   "common"]
    assert all(" / " in w.message for w in info.value.broken)
    assert [w.rule for w in password_problems(policy, "Tr0ub4dor&3x!xyz")] == []
    # Over-long text is refused for that alone (nothing else is looked at).
    assert [w.rule for w in password_problems(policy, "a" * 129)] == ["too_long"]
