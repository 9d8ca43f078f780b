"""``python -m tests.system.quick_serve serve -c CONFIG``: ``hotline-bot serve`` for the crash test,
with the production claims (a SIGKILLed instance's claims are taken over at once: its mark of life
in the store is gone, see ``store.leases.Presence``). Only the fake SMS provider's status API is
taken as knowing a message at once (``CRASH_SETTLE_SECONDS``, default 3): no index lag to wait out."""

from __future__ import annotations

import os

from adapters.sms.aliyun import AliyunSmsProvider  # first: it registers the providers the config names
from bot.cli import main

if __name__ == "__main__":
    AliyunSmsProvider.status_settle_seconds = float(os.environ.get("CRASH_SETTLE_SECONDS", "3"))
    raise SystemExit(main())
