"""Results reported back to the hotline: a signed POST of an approved answer or giveback to the
``[hotline] report_url``, queued in the outbox (channel ``report``) and retried until it succeeds."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import HotlineConfig
from bot.messages import Destination
from bot.outbox import Outbox
from store.models import Ticket


class HotlineReports:
    """Queues result reports in the caller's transaction; nothing when no report URL is set."""

    def __init__(self, config: HotlineConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def queue(self, s: AsyncSession, ticket: Ticket, result: str, data: dict[str, Any],
              seq: int | None = None) -> None:
        """Owe the hotline the report ``result`` (``answer`` / ``giveback`` / ``extension_request``)
        of this round (its ``seq``-th, for a result sent more than once a round), once."""
        url = self.config.report_url
        if not url:
            return
        now = self.clock.now()
        dest = Destination(platform="hotline", bot="report", user_id=url)
        body = {"source": ticket.source, "number": ticket.number, "result": result, "round": ticket.round,
                "at": now.isoformat(), **data}
        s.add(Outbox.row(dest, body, channel="report", ticket_id=ticket.id, kind=f"report_{result}",
                         now=now, dedupe_key=f"report:{ticket.key}:{result}:{ticket.round}"
                         + (f":{seq}" if seq is not None else "")))
