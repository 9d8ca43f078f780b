"""Failed console logins are counted, so a password cannot be guessed by trying.

Per person: after :data:`PER_PERSON` failures within :data:`WINDOW`, that name is refused until
the oldest failure leaves the window; per client address the same with :data:`PER_ADDRESS`
(one address trying many names). A refused attempt is answered without checking the password,
so it tells nothing, and costs no scrypt. A successful login clears the person's count.
Counts live in this process (a restart clears them) and time is the bot's clock. The table is
bounded: a name is counted by its first :data:`MAX_NAME` characters (no person's name is
longer), keys whose failures left the window are swept, and beyond :data:`MAX_KEYS` keys the
oldest go first — an attacker's made-up names cannot grow it without end.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from bot.clock import Clock

WINDOW = timedelta(minutes=15)
PER_PERSON = 5
PER_ADDRESS = 20
MAX_NAME = 100  # people.name is VARCHAR(100)
MAX_KEYS = 10_000


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
        return (len(self._recent(_person(person))) >= PER_PERSON
                or len(self._recent(f"a:{address}")) >= PER_ADDRESS)

    def failed(self, person: str, address: str) -> None:
        """Count one failed login."""
        now = self.clock.now()
        for key in (_person(person), f"a:{address}"):
            self._failures.setdefault(key, deque()).append(now)
        if len(self._failures) > MAX_KEYS:
            self._sweep()

    def succeeded(self, person: str) -> None:
        """The person got in: their failures no longer count."""
        self._failures.pop(_person(person), None)

    def __len__(self) -> int:
        """Keys held (for tests and metrics)."""
        return len(self._failures)

    def _sweep(self) -> None:
        """Forget keys whose failures all left the window; then the oldest keys down to 90 % of
        the cap, so that the next sweep is thousands of failures away (amortised O(1) each)."""
        for key in list(self._failures):
            self._recent(key)
        while len(self._failures) > MAX_KEYS * 9 // 10:
            del self._failures[next(iter(self._failures))]


def _person(name: str) -> str:
    """The table key of a person's name, bounded in length."""
    return "p:" + name[:MAX_NAME]
