"""Logging for the gateway process: one line per record, and a filter that masks anything
shaped like a secret (access tokens in URLs, bearer tokens, passwords) as a last line of defence."""
from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(access_token|secret|password|token|code|ticket)=([^&\s\"']+)", re.I), r"\1=***"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I), r"\1***"),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_***"),
    (re.compile(r"gk_[A-Za-z0-9_-]{20,}"), "gk_***"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Tornado's access log writes full URIs (query strings carry codes and signatures).
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
