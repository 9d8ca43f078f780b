"""The suite-wide log scan: every log record of the whole test session is formatted (message and
traceback) and searched for a full mainland mobile number; any hit fails the run.

Installed by ``tests/conftest.py`` on the root logger for the session, with the project's own
loggers at DEBUG so that their every level is scanned ("no full phone number in any log line at
any level", issue 14). Only hits are kept, so a long session costs no memory.
"""

from __future__ import annotations

import logging
import re

# A mainland mobile: 1, then 3-9, then nine digits (perhaps after +86), not inside a longer run of digits.
MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
# The project's loggers (module names and the "hotline.*" family), scanned at every level.
PROJECT_LOGGERS = ("adapters", "bot", "handlers", "scheduler", "store", "web", "hotline")
_FORMAT = logging.Formatter("%(levelname)s %(name)s: %(message)s")


class PhoneScan(logging.Handler):
    """Records (formatted, with tracebacks) that contain a full mobile number."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.hits: list[str] = []
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record as a log file would show it and keep it when it holds a number."""
        self.seen += 1
        try:
            line = _FORMAT.format(record)
        except Exception as exc:
            line = f"{record.name}: unformattable record {exc!r}"
        if MOBILE.search(line):
            self.hits.append(line[:500])

    def report(self) -> str:
        """The hits, one per line, for the session's failure message."""
        return "\n".join(self.hits[:20])


def install() -> PhoneScan:
    """Put a :class:`PhoneScan` on the root logger and open the project's loggers to DEBUG."""
    scan = PhoneScan()
    logging.getLogger().addHandler(scan)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    return scan
