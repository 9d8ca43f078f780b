"""HTTP plumbing every platform and front-end shares: reading an inbound body under a cap, how
long a refusal asks us to wait, and how long to back off before reconnecting.

("Refresh the token once and retry" is :meth:`adapters.tokens.TokenCache.authorized`.)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

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
