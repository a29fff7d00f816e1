"""Screenshots the browser tests take when a folder is named in their environment variable
(GATEWAY_CONSOLE_SHOTS, GATEWAY_PHONE_SHOTS…), to be opened and shown in the README."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable


def shooter(folder: str | None, full_page: bool = True) -> Callable[[Any, str], Awaitable[None]]:
    """`await shot(page, name)` saves `<folder>/<name>.png`; nothing without a folder."""
    async def shot(page: Any, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)
    return shot
