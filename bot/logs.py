"""Logging set-up: timestamps in the office's zone, with the offset shown.

A log line such as ``2026-12-06 11:49:02+0800 INFO hotline.sender: …`` reads the same whatever
zone the machine (or its container, usually UTC) is set to: the zone is the configured
``[calendar] timezone`` (default Asia/Shanghai), the one every time a person sees is shown in.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, Self, TextIO
from zoneinfo import ZoneInfo

from aiohttp.http_exceptions import HttpProcessingError

from bot.privacy import mask_text

__all__ = [
    "DEFAULT_ZONE",
    "FORMAT",
    "TIME_FORMAT",
    "MalformedRequestFilter",
    "OnceFilter",
    "PersonalNumberFilter",
    "StderrHandler",
    "ZoneFormatter",
    "mask_access_log",
    "quiet_malformed_requests",
    "setup_logging",
    "use_zone",
]

DEFAULT_ZONE = "Asia/Shanghai"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S%z"


class ZoneFormatter(logging.Formatter):
    """A formatter whose ``%(asctime)s`` is in a fixed zone (not UTC, not the machine's)."""

    def __init__(self, fmt: str = FORMAT, datefmt: str = TIME_FORMAT, zone: str | tzinfo = DEFAULT_ZONE) -> None:
        super().__init__(fmt, datefmt)
        self.zone: tzinfo = ZoneInfo(zone) if isinstance(zone, str) else zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time in :attr:`zone`, e.g. ``2026-12-06 11:49:02+0800``."""
        return datetime.fromtimestamp(record.created, self.zone).strftime(datefmt or self.datefmt or TIME_FORMAT)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler on whatever ``sys.stderr`` is when a record is written, not on the stream
    it was when the handler was made: whoever swaps stderr for a while and closes the replacement
    (pytest's capture, around the CLI's in-process tests) leaves no handler writing to a closed file."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        """The current ``sys.stderr``."""
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is always the current ``sys.stderr``."""


def setup_logging(verbose: bool = False, zone: str | tzinfo = DEFAULT_ZONE) -> logging.Handler:
    """Log to stderr with zone-aware timestamps; returns the handler it installed on the root
    (the same one when called again)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:
        handler = StderrHandler()
        root.addHandler(handler)
    handler.setFormatter(ZoneFormatter(zone=zone))
    PersonalNumberFilter.install(handler)  # the last net under every logger
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # Their set-up chatter (alembic's plugins on import, APScheduler's "Adding job" per job) hides
        # the lines an operator looks for at start.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def use_zone(zone: str | tzinfo) -> None:
    """Show the root handlers' times in ``zone`` from now on (called once the config is read)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, ZoneFormatter):
            handler.formatter.zone = ZoneInfo(zone) if isinstance(zone, str) else zone


class OnceFilter(logging.Filter):
    """A filter that a logger or handler needs only once, whoever asks for it."""

    @classmethod
    def install(cls, target: logging.Filterer) -> Self:
        """The filter of this class on ``target``, added unless it already has one."""
        found = next((f for f in target.filters if isinstance(f, cls)), None)
        if found is None:
            found = cls()
            target.addFilter(found)
        return found


class MalformedRequestFilter(OnceFilter):
    """aiohttp logs every malformed HTTP request it already answered 400 as an ERROR with a
    traceback (``aiohttp.server``: "Error handling request"). On a public port that is noise, and
    a flood of it is a cheap way to fill a disk: each becomes one INFO line with the parser's
    reason, at most one per :attr:`interval` seconds (the next line says how many were skipped).
    Errors of our own handlers (5xx) keep their traceback.
    """

    def __init__(self, interval: float = 10.0, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self._now = now
        self._last: float | None = None
        self.skipped = 0
        self.seen = 0  # every malformed request, logged or not; never reset

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a malformed-request record to one line, or drop it while rate-limited."""
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError) or (exc.code or 400) >= 500:
            return True
        self.seen += 1
        now = self._now()
        if self._last is not None and now - self._last < self.interval:
            self.skipped += 1
            return False
        reason = " ".join(str(exc.message or type(exc).__name__).split())[:120]
        skipped, self._last, self.skipped = self.skipped, now, 0
        record.msg = "malformed HTTP request from %s answered %d: %s (%d more not logged)"
        record.args = (record.args[0] if isinstance(record.args, tuple) and record.args else "-",
                       exc.code or 400, reason, skipped)
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info = record.exc_text = None
        return True


def quiet_malformed_requests(logger: logging.Logger | None = None) -> MalformedRequestFilter:
    """Install :class:`MalformedRequestFilter` on ``aiohttp.server`` (once); returns it."""
    return MalformedRequestFilter.install(logger or logging.getLogger("aiohttp.server"))


_TRACEBACKS = logging.Formatter()


class PersonalNumberFilter(OnceFilter):
    """Masks phone, ID-card and bank-card numbers in a record's final text (``bot.privacy``).

    On ``aiohttp.access`` (a URL may carry a phone number, e.g. an SMS gateway's push by GET) and
    on the bot's log handler as a last net: no log line at any level shows a full number.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message and traceback with their numbers masked; never drops it."""
        text = record.getMessage()
        masked = mask_text(text)
        if masked != text:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # An exception's text may quote a value (a driver's error detail); a formatter keeps
            # a record's exc_text once set, so every handler shows the masked traceback.
            record.exc_text = mask_text(_TRACEBACKS.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def mask_access_log(logger: logging.Logger | None = None) -> PersonalNumberFilter:
    """Install :class:`PersonalNumberFilter` on ``aiohttp.access`` (once); returns it."""
    return PersonalNumberFilter.install(logger or logging.getLogger("aiohttp.access"))
