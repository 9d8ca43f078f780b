"""What every chat adapter offers the rest of the bot, and the errors a send may raise (defined in
``bot``, which the adapters implement; re-exported here for the adapters' imports)."""

from __future__ import annotations

from bot.ports import ChatAdapter, InboxWriter, Lease, SendResult
from bot.send_errors import PermanentSendError, SendError, TransientSendError

__all__ = ["ChatAdapter", "InboxWriter", "Lease", "PermanentSendError", "SendError", "SendResult",
           "TransientSendError"]
