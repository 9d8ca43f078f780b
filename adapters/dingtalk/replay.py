"""DingTalk signs only the callback's ``timestamp`` (``sign = HmacSHA256(timestamp + "\\n" +
secret)``), not its body: within the hour a captured header pair would authenticate any body.
Two checks bind the body to the header:

* the body's own times (``createAt``, ``sessionWebhookExpiredTime``, epoch ms) must fit the
  header's ``timestamp`` — a message created more than the window before or after the signed
  moment, or whose session webhook had already expired, is not the one that was signed;
* a (timestamp, sign) pair seen before may only come again with the same body (a retry of the
  same delivery, answered by inbox de-duplication); with another body it is refused.

The pairs are kept in the store (:class:`StoredSignatures`), so that every instance behind a load
balancer knows the pairs any of them saw; an adapter built without a store (its unit tests)
remembers them in the process (:class:`SignatureReplays`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.dingtalk.crypto import CALLBACK_WINDOW_MS
from store.queries import signature_pairs

log = logging.getLogger(__name__)

# Pairs remembered at most in the process (each a few dozen bytes): far above an hour of real callbacks.
MAX_PAIRS = 100_000
KEEP_MS = 2 * CALLBACK_WINDOW_MS
"""A pair is kept this long after its signed timestamp (its timestamp is refused as stale after
one window; the second covers clocks of instances that disagree)."""
PRUNE_EVERY_MS = 60_000
"""An instance prunes the stored pairs at most this often."""


def body_matches_timestamp(payload: dict[str, Any], timestamp_ms: int) -> bool:
    """Whether the body's ``createAt`` / ``sessionWebhookExpiredTime`` (when present) fit the
    signed ``timestamp``."""
    created = payload.get("createAt")
    if isinstance(created, int) and abs(timestamp_ms - created) > CALLBACK_WINDOW_MS:
        return False
    expires = payload.get("sessionWebhookExpiredTime")
    return not (isinstance(expires, int) and expires < timestamp_ms)


class ReplayMemory(Protocol):
    """Where the signed header pairs of verified callbacks are remembered."""

    async def first_or_same(self, bot: str, timestamp: str, sign: str, body: bytes, timestamp_ms: int) -> bool:
        """Record the pair with its body; False when it was seen before with a different body."""
        ...


class StoredSignatures:
    """The pairs in the store's ``signature_pairs`` table, shared by every instance; this
    instance prunes those older than :data:`KEEP_MS` at most every :data:`PRUNE_EVERY_MS`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], now_ms: Callable[[], int]) -> None:
        self._sessions = sessions
        self._now_ms = now_ms
        self._pruned_at: int | None = None

    async def first_or_same(self, bot: str, timestamp: str, sign: str, body: bytes, timestamp_ms: int) -> bool:
        """Record the pair with its body's digest; False when it was seen before with another."""
        same = await signature_pairs.first_or_same(self._sessions, bot, timestamp, sign,
                                                   hashlib.sha256(body).digest(), timestamp_ms)
        now = self._now_ms()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY_MS:
            self._pruned_at = now
            await self.prune(now)
        return same

    async def prune(self, now_ms: int) -> int:
        """Delete the pairs signed more than :data:`KEEP_MS` before ``now_ms``; how many. A
        failure is logged and left for the next round (the check itself does not depend on it)."""
        try:
            return await signature_pairs.prune(self._sessions, now_ms - KEEP_MS)
        except Exception:
            log.warning("dingtalk: pruning the signature pairs failed", exc_info=True)
            return 0


class SignatureReplays:
    """The pairs of the last two windows in this process only, each with the digest of its body
    (at most ``max_pairs``, the oldest forgotten first)."""

    def __init__(self, max_pairs: int = MAX_PAIRS) -> None:
        self._seen: OrderedDict[tuple[str, str, str], tuple[int, bytes]] = OrderedDict()
        self._max = max_pairs

    def __len__(self) -> int:
        return len(self._seen)

    async def first_or_same(self, bot: str, timestamp: str, sign: str, body: bytes, timestamp_ms: int) -> bool:
        """Record the pair; False when it was seen before with a different body."""
        self._forget(timestamp_ms)
        digest = hashlib.sha256(body).digest()
        key = (bot, timestamp, sign)
        seen = self._seen.get(key)
        if seen is not None:
            return seen[1] == digest
        self._seen[key] = (timestamp_ms, digest)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    def _forget(self, now_ms: int) -> None:
        """Drop pairs older than the window (their timestamp is refused as stale anyway)."""
        while self._seen:
            key, (stamp, _) = next(iter(self._seen.items()))
            if now_ms - stamp <= KEEP_MS:
                break
            del self._seen[key]
