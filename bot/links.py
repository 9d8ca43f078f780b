"""Links to the console's pages that chat messages carry (``[server] public_url``)."""

from __future__ import annotations

from bot.config import Config
from store.models import Ticket


def ticket_page(config: Config, ticket: Ticket) -> str | None:
    """The console page of ``ticket``, or None without a public URL or an enabled console."""
    base = config.server.public_url.rstrip("/")
    if not base or not config.platforms.console.enabled:
        return None
    return f"{base}/console/tickets/{ticket.source}/{ticket.number}"
