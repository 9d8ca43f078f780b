"""Card buttons, the domain side of the card codec (``adapters/cards.py`` carries them on the wire):
an :class:`~bot.messages.Action` for a ticket command with a signed, expiring, single-use token."""

from __future__ import annotations

from datetime import timedelta

from bot.action_tokens import issue as issue_token
from bot.clock import Clock
from bot.messages import Action

BUTTON_TTL = timedelta(days=7)


class TicketButtons:
    """Makes the buttons of ticket cards, signed with the bot's secret."""

    def __init__(self, secret: bytes, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock

    def button(self, label: str, command: str, ticket_key: str, style: str = "default",
               bound: dict[str, str] | None = None) -> Action:
        """A button that runs ``command`` on the ticket ``ticket_key`` when clicked; ``bound`` is
        signed into its token (the review request and version the card shows)."""
        token = issue_token(self._secret, command, ticket_key, self._clock.now(), BUTTON_TTL, bound)
        return Action(label=label, command=command, ticket=ticket_key, token=token, style=style)
