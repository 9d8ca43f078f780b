"""``python -m tests.system.held_serve serve -c CONFIG``: ``hotline-bot`` whose inbox stores and
acknowledges inbound events but never processes them, so the crash test can kill the process at a
known point (after the ack, before processing)."""

from __future__ import annotations

import asyncio

from bot.cli import main
from bot.inbox import Inbox


async def _never_process(self: Inbox) -> None:
    await asyncio.Event().wait()


if __name__ == "__main__":
    Inbox._run = _never_process  # type: ignore[method-assign]
    raise SystemExit(main())
