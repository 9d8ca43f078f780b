"""Failed console logins are counted, so a password cannot be guessed by trying.

Per person: after :data:`PER_PERSON` failures within :data:`WINDOW`, that name is refused until
the oldest failure leaves the window; per client address the same with :data:`PER_ADDRESS`
(one address trying many names). A refused attempt is answered without checking the password,
so it tells nothing, and costs no scrypt. A successful login clears the person's count.
Counts live in this process (a restart clears them) and time is the bot's clock.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from bot.clock import Clock

WINDOW = timedelta(minutes=15)
PER_PERSON = 5
PER_ADDRESS = 20


class LoginThrottle:
    """Sliding windows of failed logins, by person and by client address."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str) -> deque[datetime]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        cutoff = self.clock.now() - WINDOW
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def blocked(self, person: str, address: str) -> bool:
        """Whether a login as ``person`` from ``address`` is refused right now."""
        return (len(self._recent(f"p:{person}")) >= PER_PERSON
                or len(self._recent(f"a:{address}")) >= PER_ADDRESS)

    def failed(self, person: str, address: str) -> None:
        """Count one failed login."""
        now = self.clock.now()
        for key in (f"p:{person}", f"a:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, person: str) -> None:
        """The person got in: their failures no longer count."""
        self._failures.pop(f"p:{person}", None)
