"""Logging set-up: timestamps in the office's zone, with the offset shown.

A log line such as ``2026-12-06 11:49:02+0800 INFO hotline.sender: …`` reads the same whatever
zone the machine (or its container, usually UTC) is set to: the zone is the configured
``[calendar] timezone`` (default Asia/Shanghai), the one every time a person sees is shown in.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_ZONE", "FORMAT", "TIME_FORMAT", "ZoneFormatter", "setup_logging", "use_zone"]

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


def setup_logging(verbose: bool = False, zone: str | tzinfo = DEFAULT_ZONE) -> logging.Handler:
    """Log to stderr with zone-aware timestamps; returns the handler it installed on the root."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h.formatter, ZoneFormatter)), None)
    if handler is None:
        handler = logging.StreamHandler()
        root.addHandler(handler)
    handler.setFormatter(ZoneFormatter(zone=zone))
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
