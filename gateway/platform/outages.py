"""One log line when a back end (storage, cache) stops answering for some part of the gateway and
one when it answers again, instead of a line (or a traceback) per failed operation."""
from __future__ import annotations

import logging


class OutageLog:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger, self.what = logger, what
        self._down: set[str] = set()

    def failed(self, backend: str, exc: BaseException) -> None:
        if backend not in self._down:
            self._down.add(backend)
            self.logger.warning("%s: %s unavailable (%s); waiting for it, nothing is counted as failed",
                                self.what, backend, type(exc).__name__)

    def answered(self) -> None:
        if self._down:
            self.logger.warning("%s: %s answering again", self.what, ", ".join(sorted(self._down)))
            self._down.clear()

    @property
    def down(self) -> bool:
        return bool(self._down)
