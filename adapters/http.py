"""HTTP plumbing every platform and front-end shares: reading an inbound body under a cap, how
long a refusal asks us to wait, and how long to back off before reconnecting.

("Refresh the token once and retry" is :meth:`adapters.tokens.TokenCache.authorized`.)
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from adapters.tokens import TokenCache, TokenRejected
from bot.ports import DownloadFailed, read_limited
from bot.send_errors import SendError

D = TypeVar("D", float, None)
READ_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """An inbound request body larger than its cap (answered 413 ``too_large``)."""


async def read_capped(request: web.Request, limit: int) -> bytes:
    """The body, refused with :class:`BodyTooLarge` before reading when its Content-Length is
    larger than ``limit``, or as soon as it turns out to be while reading (chunked bodies)."""
    if request.content_length is not None:
        if request.content_length > limit:
            raise BodyTooLarge(limit)
        return await request.read()  # the declared length is within the cap: one read, no loop
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(value: str | None, default: D) -> float | D:
    """Seconds to wait from a ``Retry-After``-style header (a number of seconds); ``default``
    when it is missing, empty or not a number (an HTTP date), never negative."""
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        return default


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: a random point in the upper half of
    ``min(cap, base * 2**attempt)`` (``attempt`` counts from 0)."""
    ceiling = min(cap, base * (2 ** min(max(attempt, 0), 30)))
    return ceiling * (0.5 + rng() / 2)


async def download(http: aiohttp.ClientSession, url: str, *, max_bytes: int, client_timeout: aiohttp.ClientTimeout,
                   what: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                   token_invalid: Callable[[dict[str, Any]], bool] = lambda _: False) -> tuple[bytes, str]:
    """GET a file a platform holds: a 200 that is not JSON is the file (read up to ``max_bytes``,
    else FileTooLarge) with its declared type; a JSON answer is the platform's error, raised as
    TokenRejected when ``token_invalid`` says so (the caller's cache refreshes once), else as
    DownloadFailed, like a network error."""
    try:
        async with http.get(url, params=params, headers=headers, timeout=client_timeout) as resp:
            ctype = resp.headers.get("Content-Type", "")
            if resp.status == 200 and "json" not in ctype:
                return await read_limited(resp, max_bytes), ctype
            status = resp.status
            data = await resp.json(content_type=None) if "json" in ctype else None
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise DownloadFailed(f"{what}: {exc!r}") from exc
    if isinstance(data, dict) and token_invalid(data):
        raise TokenRejected(DownloadFailed(f"{what}: token refused"))
    raise DownloadFailed(f"{what}: HTTP {status} {str(data)[:200]}")


async def authorized_download(tokens: TokenCache, fetch: Callable[[str], Awaitable[tuple[bytes, str]]],
                              what: str) -> tuple[bytes, str]:
    """``fetch(token)`` through the token cache (refreshed once on a refusal); a failure to get a
    token at all is a DownloadFailed too."""
    try:
        return await tokens.authorized(fetch, what=what)
    except SendError as exc:
        raise DownloadFailed(str(exc)) from exc
