"""The errors a delivery may raise, whatever the channel: the sender retries the transient ones and
dead-letters the permanent ones. Adapters and SMS providers raise them; the domain catches them."""

from __future__ import annotations


class SendError(Exception):
    """A delivery failed. ``transient`` decides whether the sender retries."""

    transient: bool = True

    def __init__(self, message: str, *, code: str | int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class TransientSendError(SendError):
    """Network error, HTTP 5xx, the platform's "too fast" code, an expired token: try again."""

    transient = True


class PermanentSendError(SendError):
    """Bad request, unknown chat, no permission, content rejected: retrying cannot help."""

    transient = False


class NotYetError(TransientSendError):
    """The message may not go yet (e.g. its last send is still being settled with the provider):
    try again after ``retry_after`` seconds of the bot's clock, without counting an attempt or
    holding the destination's other messages back."""
