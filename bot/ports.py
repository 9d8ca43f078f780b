"""What the bot needs from the outside, as protocols the adapters implement: a chat platform
(receive into the inbox, send), and a lease so one instance holds a platform's single connection.
The bot imports these, never an adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import aiohttp
from aiohttp import web

from bot.messages import Destination, FileRef, IncomingMessage, OutgoingMessage


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the platform answered for a delivered message."""

    message_id: str = ""  # the platform's id, so a card can be updated later


class InboxWriter(Protocol):
    """Writes a verified inbound event to the inbox; the adapter acks only after it returns."""

    async def __call__(self, message: IncomingMessage) -> bool:
        """Commit the event; True when new, False when it is a duplicate (still ack it)."""
        ...


class ChatAdapter(Protocol):
    """One platform: receives callbacks or holds a long connection, and sends messages."""

    platform: str

    def setup_routes(self, app: web.Application) -> None:
        """Register the platform's webhook routes on the bot's aiohttp app."""
        ...

    async def start(self, http: aiohttp.ClientSession, inbox: InboxWriter) -> None:
        """Open long connections (if any); called once the store and inbox are ready."""
        ...

    async def stop(self) -> None:
        """Close long connections."""
        ...

    async def send(self, http: aiohttp.ClientSession, dest: Destination,
                   message: OutgoingMessage, *, key: str | None = None) -> SendResult:
        """Deliver one message; raise TransientSendError or PermanentSendError on failure.

        ``key`` is the same for every attempt at one outbox row: a platform that can drop a
        repeat (Feishu's ``uuid``) gets it, so a retry after a lost answer is not a second
        message in the group."""
        ...


class FileTooLarge(Exception):
    """A download stopped at the size limit (the platform's file is larger)."""


class DownloadFailed(Exception):
    """The platform would not hand the file over (expired key, refused token, network)."""


@runtime_checkable
class FileSource(Protocol):
    """A chat adapter that can fetch the images and files its messages carry, with the bot's own
    credentials (access token, AES key). Adapters without it leave files undownloaded."""

    async def download(self, http: aiohttp.ClientSession, bot: str, ref: FileRef, *,
                       max_bytes: int) -> tuple[bytes, str]:
        """``(content, content type the platform declared)``; raises FileTooLarge past
        ``max_bytes`` and DownloadFailed when the platform refuses."""
        ...


async def read_limited(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """A download's body, stopping with FileTooLarge once it passes ``max_bytes``."""
    declared = resp.content_length
    if declared is not None and declared > max_bytes:
        raise FileTooLarge(f"{declared} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise FileTooLarge(f"more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Lease(Protocol):
    """A named lease in the store, so one bot instance holds a platform's single connection."""

    async def acquire(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``holder``; False while another holder has it."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up (on shutdown or after a platform kick)."""
        ...
