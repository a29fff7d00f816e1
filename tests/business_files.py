"""A stand-in for a tenant's business system serving attachment files on loopback, written on raw
sockets so a test can script hostile answers: redirects, lies about the length, endless bodies,
silence. Each path maps to a coroutine that writes the whole answer to the connection."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

Script = Callable[[asyncio.StreamWriter], Awaitable[None]]


def answer(body: bytes, content_type: str = "application/octet-stream", status: str = "200 OK",
           headers: dict[str, str] | None = None) -> Script:
    async def write(w: asyncio.StreamWriter) -> None:
        head = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        w.write(f"HTTP/1.1 {status}\r\n".encode() + "".join(f"{k}: {v}\r\n" for k, v in head.items()).encode()
                + b"\r\n" + body)
        await w.drain()
    return write


def redirect(location: str) -> Script:
    return answer(b"", status="302 Found", headers={"Location": location})


def chunked(total: int, chunk: int = 64 * 1024) -> Script:
    """A chunked body of `total` bytes with no length announced."""
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while sent < total:
            n = min(chunk, total - sent)
            w.write(f"{n:x}\r\n".encode() + b"x" * n + b"\r\n")
            sent += n
            await w.drain()
        w.write(b"0\r\n\r\n")
        await w.drain()
    return write


def declared(length: int) -> Script:
    """Announces `length` bytes, sends a few, then waits."""
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: {length}\r\n\r\n".encode()
                + b"%PDF" * 16)
        await w.drain()
        await asyncio.sleep(30)
    return write


def silent() -> Script:
    async def write(w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
    return write


def stalls_after(first: bytes, length: int) -> Script:
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n".encode() + first)
        await w.drain()
        await asyncio.sleep(30)
    return write


def gated(first: bytes, rest: bytes, gate: asyncio.Event) -> Script:
    """Sends `first`, waits for `gate`, then `rest` (proves the relay streams, not buffers)."""
    async def write(w: asyncio.StreamWriter) -> None:
        w.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(first) + len(rest)}\r\n\r\n".encode() + first)
        await w.drain()
        await asyncio.wait_for(gate.wait(), 20)
        w.write(rest)
        await w.drain()
    return write


class BusinessFiles:
    """`async with BusinessFiles({"/a.pdf": answer(...)}) as files:`; files.url("/a.pdf"), files.hits."""

    def __init__(self, scripts: dict[str, Script] | None = None) -> None:
        self.scripts = dict(scripts or {})
        self.hits: list[str] = []
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            self.hits.append(path)
            script = self.scripts.get(path) or answer(b"not here", status="404 Not Found")
            await script(writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> "BusinessFiles":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self._tasks):
            task.cancel()
