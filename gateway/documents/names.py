"""How the phone names people: by name, with the login added only where two people shown together
share a name; a login the directory does not know is shown as itself."""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping


def display_names(names: Mapping[str, str]) -> dict[str, str]:
    """{login: name} -> {login: what the page shows}."""
    logins_of: dict[str, set[str]] = defaultdict(set)
    for login, name in names.items():
        logins_of[name or login].add(login)
    shown: dict[str, str] = {}
    for login, name in names.items():
        label = name or login
        shown[login] = f"{label}（{login}）" if len(logins_of[label]) > 1 and label != login else label
    return shown
