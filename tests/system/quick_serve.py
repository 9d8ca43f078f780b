"""``python -m tests.system.quick_serve serve -c CONFIG``: ``hotline-bot`` with short claims, so the
crash test's rows claimed by a SIGKILLed instance are taken over within seconds, not minutes.

Claims only bound how long a dead instance's rows wait; sends here take milliseconds, far inside
them, so shortening them changes no exactly-once guarantee (``CRASH_CLAIM_SECONDS``, default 6)."""

from __future__ import annotations

import os

from adapters.sms.aliyun import AliyunSmsProvider  # first: it registers the providers the config names
from bot import inbox, sender
from bot.cli import main

if __name__ == "__main__":
    seconds = float(os.environ.get("CRASH_CLAIM_SECONDS", "6"))
    sender.CLAIM_SECONDS = seconds  # type: ignore[assignment]
    inbox.CLAIM_SECONDS = seconds / 2
    # The fake provider's status API knows a message at once: no index lag to wait out.
    AliyunSmsProvider.status_settle_seconds = seconds / 2
    raise SystemExit(main())
