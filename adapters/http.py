"""HTTP plumbing every platform shares: how long a refusal asks us to wait, and how long to back
off before reconnecting.

(The capped body reader of inbound callbacks is :func:`adapters.webhooks.read_capped`; "refresh the
token once and retry" is :meth:`adapters.tokens.TokenCache.authorized`.)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

D = TypeVar("D", float, None)


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
