"""The console's English texts: the pages are written in Simplified Chinese and each text is
looked up here when a person switched to English (a missing entry shows the Chinese)."""
from __future__ import annotations

from handlers.console_en import EN
from handlers.console_en_component import EN_COMPONENT
from handlers.console_en_import import EN_IMPORT
from handlers.console_en_people import EN_PEOPLE

_ALL = {**EN_COMPONENT, **EN_IMPORT, **EN_PEOPLE, **EN}  # the first console texts keep their words


def translate(text: str, lang: str) -> str:
    return _ALL.get(text, text) if lang == "en" else text
