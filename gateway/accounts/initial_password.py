"""Random strong passwords handed out by an administrator (a reset, an import's "generate"):
16 characters with letters of both cases, digits and a symbol, so any tenant policy accepts them;
never starting with a symbol, so a sheet of them opens in Excel as typed."""
from __future__ import annotations

import secrets

_LOWER = "abcdefghijkmnpqrstuvwxyz"   # no l, o: read aloud or copied by hand without confusion
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"   # no I, O
_DIGITS = "23456789"                  # no 0, 1
_SYMBOLS = "#%+=@!"
LENGTH = 16


def strong_password() -> str:
    alphabet = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    while True:
        chars = [secrets.choice(alphabet) for _ in range(LENGTH)]
        if chars[0] in _SYMBOLS:
            continue  # a sheet cell starting with + = @ is a formula to Excel (and gets quoted)
        if (any(c in _LOWER for c in chars) and any(c in _UPPER for c in chars)
                and any(c in _DIGITS for c in chars) and any(c in _SYMBOLS for c in chars)):
            return "".join(chars)
