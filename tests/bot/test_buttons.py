"""Ticket card buttons: the action names the command and ticket, its token is signed for exactly
that pair and expires after BUTTON_TTL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.action_tokens import TokenError, verify
from bot.buttons import BUTTON_TTL, TicketButtons
from bot.clock import FrozenClock

SECRET = b"k" * 32
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_button_carries_a_token_for_its_command_and_ticket() -> None:
    clock = FrozenClock(START)
    action = TicketButtons(SECRET, clock).button("同意", "同意", "12345/A1", "primary")
    assert (action.label, action.command, action.ticket, action.style) == ("同意", "同意", "12345/A1", "primary")
    claims = verify(SECRET, action.token, START)
    assert (claims.purpose, claims.ticket, claims.expires_at) == ("同意", "12345/A1", START + BUTTON_TTL)
    with pytest.raises(TokenError):
        verify(b"x" * 32, action.token, START)
    with pytest.raises(TokenError):
        verify(SECRET, action.token, START + BUTTON_TTL)


def test_two_buttons_have_different_tokens() -> None:
    buttons = TicketButtons(SECRET, FrozenClock(START))
    assert buttons.button("签收", "签收", "12345/A1").token != buttons.button("签收", "签收", "12345/A1").token
