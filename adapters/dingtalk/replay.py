"""DingTalk signs only the callback's ``timestamp`` (``sign = HmacSHA256(timestamp + "\\n" +
secret)``), not its body: within the hour a captured header pair would authenticate any body.
Two checks bind the body to the header:

* the body's own times (``createAt``, ``sessionWebhookExpiredTime``, epoch ms) must fit the
  header's ``timestamp`` — a message created more than the window before or after the signed
  moment, or whose session webhook had already expired, is not the one that was signed;
* a (timestamp, sign) pair seen before may only come again with the same body (a retry of the
  same delivery, answered by inbox de-duplication); with another body it is refused.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from adapters.dingtalk.crypto import CALLBACK_WINDOW_MS

# Pairs remembered at most (each a few dozen bytes): far above an hour of real callbacks.
MAX_PAIRS = 100_000


def body_matches_timestamp(payload: dict[str, Any], timestamp_ms: int) -> bool:
    """Whether the body's ``createAt`` / ``sessionWebhookExpiredTime`` (when present) fit the
    signed ``timestamp``."""
    created = payload.get("createAt")
    if isinstance(created, int) and abs(timestamp_ms - created) > CALLBACK_WINDOW_MS:
        return False
    expires = payload.get("sessionWebhookExpiredTime")
    return not (isinstance(expires, int) and expires < timestamp_ms)


class SignatureReplays:
    """The (timestamp, sign) pairs of the last window, each with the digest of its body."""

    def __init__(self, max_pairs: int = MAX_PAIRS) -> None:
        self._seen: OrderedDict[tuple[str, str], tuple[int, bytes]] = OrderedDict()
        self._max = max_pairs

    def first_or_same(self, timestamp: str, sign: str, body: bytes, timestamp_ms: int) -> bool:
        """Record the pair; False when it was seen before with a different body."""
        self._forget(timestamp_ms)
        digest = hashlib.sha256(body).digest()
        seen = self._seen.get((timestamp, sign))
        if seen is not None:
            return seen[1] == digest
        self._seen[(timestamp, sign)] = (timestamp_ms, digest)
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    def _forget(self, now_ms: int) -> None:
        """Drop pairs older than the window (their timestamp is refused as stale anyway)."""
        while self._seen:
            key, (stamp, _) = next(iter(self._seen.items()))
            if now_ms - stamp <= 2 * CALLBACK_WINDOW_MS:
                break
            del self._seen[key]
