"""A raw HTTP/1.1 client: the exact header and body bytes a hostile client sends (aiohttp's own
client would refuse to send most of them), one connection per request."""

from __future__ import annotations

import asyncio

from tests.fuzz.world import Shot

TIMEOUT = 30.0  # seconds a server may take to answer one hostile request


def encode(shot: Shot, host: str) -> bytes:
    """The request's bytes; header values travel as UTF-8 with lone surrogates passed through."""
    head = [f"{shot.method} {shot.path} HTTP/1.1", f"Host: {host}", "Connection: close",
            f"Content-Length: {len(shot.body)}"]
    head += [f"{k}: {v}" for k, v in shot.headers.items() if k.lower() != "content-length"]
    return "\r\n".join(head).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + shot.body


async def send_raw(host: str, port: int, data: bytes) -> int:
    """Send ``data`` and return the status of the answer (0 when the server closed without one)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


async def send(host: str, port: int, shot: Shot) -> int:
    """Send one :class:`Shot`; its status."""
    return await send_raw(host, port, encode(shot, f"{host}:{port}"))
