"""Evidence: photos and files attached to 进展, 答复, 退单 and a 不满意 说明.

The procedures ask for them: 松江 退单 "详细说明理由并提交相关证明", 不满意 "提供相关政策文件",
诉求过高/不属实 "印证资料"; 平顶山 "上传领导签发及办理过程图片" and "注明…负责人信息（含姓名、职务、联系方式）".

A file sent in a chat (or uploaded in the console) is downloaded through its platform with the
bot's own credentials, checked against ``[attachments]`` (size, type), stored once by content hash
(``store.files``) and kept *pending* for its sender in that chat. The next command of that person
there that takes evidence (within ``window_minutes``), or a command quoting that message, attaches
it to the ticket, with the round and the command it came with.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from bot import action_tokens
from bot.clock import Clock
from bot.config import Config
from bot.directory import Directory
from bot.messages import FileRef, IncomingMessage
from bot.ports import DownloadFailed, FileSource, FileTooLarge
from store.files import FileStore, sibling_dir
from store.models import Attachment, Ticket
from store.queries import attachments as attachments_q

log = logging.getLogger("hotline.attachments")
LINK_PURPOSE = "attachment"
IMAGE, FILE = "image", "file"  # the two kinds of attachment
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"))
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTAINERS = {  # office formats are recognised by name, and must have their container's magic
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _ZIP,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _ZIP,
    "application/msword": _OLE, "application/vnd.ms-excel": _OLE}
PURPOSE_LABELS = {"进展": "进展", "答复": "答复", "退单": "退单", "说明": "情况说明", "上传": "控制台上传"}


class AttachmentRefused(Exception):
    """A file the limits refuse; the message is the polite Chinese answer."""


def sniff(data: bytes, name: str) -> str:
    """The content type of ``data``: by its magic bytes for images and PDF, else by the name's
    extension when the content fits it (an office file's container, UTF-8 text)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, ctype in _MAGIC:
        if data.startswith(magic):
            return ctype
    guessed = mimetypes.guess_type(name)[0] or ""
    container = _CONTAINERS.get(guessed)
    if container is not None:
        return guessed if data.startswith(container) else "application/octet-stream"
    if guessed == "text/plain":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
        return guessed
    return "application/octet-stream"


def size_label(n: int) -> str:
    """``3.5MB`` / ``120KB``: a size as people read it."""
    if n >= 1048576:
        return f"{n / 1048576:.1f}".rstrip("0").rstrip(".") + "MB"
    return f"{max(1, round(n / 1024))}KB"


def default_name(kind: str, content_type: str, at: datetime, sha256: str) -> str:
    """A name for an image the platform sent without one (``图片-20261123-100000-3fa2c1.png``)."""
    ext = mimetypes.guess_extension(content_type) or ""
    return f"{'图片' if kind == 'image' else '文件'}-{at:%Y%m%d-%H%M%S}-{sha256[:6]}{ext}"


@dataclass(frozen=True)
class Received:
    """What became of the files of one message: stored rows and polite refusals."""

    stored: list[Attachment]
    refusals: list[str]


class Attachments:
    """The attachment service: limits, the file store, pending files, claiming, signed links."""

    def __init__(self, config: Config, clock: Clock, directory: Directory,
                 files: FileStore | None = None) -> None:
        self.config = config
        self.limits = config.attachments
        self.clock = clock
        self.directory = directory
        config_dir = config.path.parent if config.path else None
        root = Path(self.limits.dir) if self.limits.dir else sibling_dir(config.store.url, config_dir)
        self.files = files or FileStore(root)
        # (platform, event id, file key) → the bytes (or the refusal) fetched before the event's transaction
        self._fetched: dict[tuple[str, str, str], bytes | AttachmentRefused] = {}

    # ---- receiving ------------------------------------------------------------------------

    def check(self, data: bytes, name: str) -> str:
        """The content type of an acceptable file; raises AttachmentRefused (in Chinese)."""
        label = f"「{name}」" if name else ""
        if len(data) > self.limits.max_bytes:
            raise AttachmentRefused(f"附件{label}有 {size_label(len(data))}，超过 {size_label(self.limits.max_bytes)} 的上限，"
                                    "未保存。请压缩或拆分后重新发送。")
        if not data:
            raise AttachmentRefused(f"附件{label}是空文件，未保存。")
        ctype = sniff(data, name)
        if ctype not in self.limits.types:
            raise AttachmentRefused(f"附件{label}的类型不在允许范围内，未保存。"
                                    "可发送图片（jpg/png/gif/webp）、PDF、Word、Excel 或文本文件。")
        return ctype

    def keep(self, s: AsyncSession, data: bytes, *, name: str, platform: str, chat_id: str,
             message_id: str | None, person_id: int | None) -> Attachment:
        """Check ``data``, store it once and add a pending row; raises AttachmentRefused. Image or
        file is read from the content, whatever the platform called it."""
        ctype = self.check(data, name)
        now = self.clock.now()
        kind = IMAGE if ctype.startswith("image/") else FILE
        local = now.astimezone(ZoneInfo(self.config.calendar.timezone))
        digest = self.files.put(data)
        row = Attachment(sha256=digest, size=len(data), content_type=ctype,
                         filename=(name or default_name(kind, ctype, local, digest))[:255], kind=kind,
                         platform=platform, chat_id=chat_id, message_id=message_id,
                         person_id=person_id, received_at=now)
        s.add(row)
        return row

    async def prefetch(self, http: aiohttp.ClientSession | None, source: FileSource | None,
                       message: IncomingMessage) -> None:
        """Download the files of ``message`` ahead of its transaction (kept in memory for
        :meth:`receive`), so no transaction or inbox write waits for a platform's download."""
        for ref in message.files:
            key = (message.platform, message.event_id, ref.key)
            try:
                self._fetched[key] = await self._download(http, source, message, ref)
            except AttachmentRefused as exc:
                self._fetched[key] = exc

    async def receive(self, s: AsyncSession, http: aiohttp.ClientSession | None,
                      source: FileSource | None, message: IncomingMessage, person_id: int) -> Received:
        """Keep the files of ``message`` (pending), downloading those not prefetched; refusals are
        returned, not raised."""
        stored: list[Attachment] = []
        refusals: list[str] = []
        for ref in message.files:
            fetched = self._fetched.pop((message.platform, message.event_id, ref.key), None)
            try:
                if isinstance(fetched, AttachmentRefused):
                    raise fetched
                data = fetched if fetched is not None else await self._download(http, source, message, ref)
                stored.append(self.keep(s, data, name=ref.name, platform=message.platform,
                                        chat_id=message.chat_id, message_id=message.message_id,
                                        person_id=person_id))
            except AttachmentRefused as exc:
                refusals.append(str(exc))
        await s.flush()
        return Received(stored, refusals)

    async def _download(self, http: aiohttp.ClientSession | None, source: FileSource | None,
                        message: IncomingMessage, ref: FileRef) -> bytes:
        label = f"「{ref.name}」" if ref.name else ""
        if source is None or http is None:
            raise AttachmentRefused(f"暂时无法从本平台下载附件{label}，请在控制台上传。")
        try:
            data, _declared = await source.download(http, message.bot, ref, max_bytes=self.limits.max_bytes)
        except FileTooLarge:
            raise AttachmentRefused(f"附件{label}超过 {size_label(self.limits.max_bytes)} 的上限，未保存。"
                                    "请压缩或拆分后重新发送。") from None
        except DownloadFailed as exc:
            log.warning("download of %s %s failed: %s", message.platform, ref.kind, exc)
            raise AttachmentRefused(f"附件{label}下载失败，请重新发送。") from None
        return data

    # ---- attaching ------------------------------------------------------------------------

    async def claim(self, s: AsyncSession, message: IncomingMessage, person_id: int, ticket: Ticket,
                    purpose: str) -> list[Attachment]:
        """Attach the person's pending files of this chat (sent within the window, or quoted by
        the command) to ``ticket`` for ``purpose``; returns them."""
        since = self.clock.now() - timedelta(minutes=self.limits.window_minutes)
        rows = await attachments_q.pending(s, message.platform, message.chat_id, person_id, since,
                                           message.quoted_message_id)
        now = self.clock.now()
        for row in rows:
            row.ticket_id, row.round, row.purpose, row.attached_at = ticket.id, ticket.round, purpose, now
        return rows

    # ---- reading --------------------------------------------------------------------------

    def content(self, row: Attachment) -> bytes:
        """The stored bytes of ``row`` (the caller has checked the viewer's rights)."""
        return self.files.get(row.sha256)

    def who(self, row: Attachment) -> dict[str, str]:
        """The uploader's name, title and phone (平顶山 "负责人信息（含姓名、职务、联系方式）")."""
        person = self.directory.person_by_id(row.person_id)
        return person.contact if person else {"name": "", "title": "", "phone": ""}

    def link(self, row: Attachment, now: datetime) -> str:
        """A signed link to ``row`` that expires after ``link_hours`` (for the hotline)."""
        token = action_tokens.issue(self.config.effective_secret, LINK_PURPOSE, f"attachment:{row.id}", now,
                                    timedelta(hours=self.limits.link_hours))
        base = self.config.server.public_url.rstrip("/")
        return f"{base}/files/{row.id}?token={token}"

    def link_ok(self, attachment_id: int, token: str, now: datetime) -> bool:
        """Whether ``token`` is a valid, unexpired link token for ``attachment_id``."""
        try:
            claims = action_tokens.verify(self.config.effective_secret, token, now)
        except action_tokens.TokenError:
            return False
        return claims.purpose == LINK_PURPOSE and claims.ticket == f"attachment:{attachment_id}"

    def report_entry(self, row: Attachment, now: datetime) -> dict[str, Any]:
        """One attachment as the hotline report carries it: a signed link or the file itself."""
        entry: dict[str, Any] = {"name": row.filename, "kind": row.kind, "content_type": row.content_type,
                                 "size": row.size, "sha256": row.sha256, "purpose": row.purpose,
                                 "uploaded_by": self.who(row)}
        if self.limits.report == "files" or not self.config.server.public_url:
            entry["data"] = base64.b64encode(self.content(row)).decode("ascii")
        else:
            entry["url"] = self.link(row, now)
            entry["expires_at"] = (now + timedelta(hours=self.limits.link_hours)).isoformat()
        return entry


def summary_line(row: Attachment, who: dict[str, str], at: str) -> str:
    """One line of the 附件 list: purpose, name, size, who (name, title, phone), when."""
    person = "，".join(x for x in (who["name"], who["title"], who["phone"]) if x)
    return (f"【{PURPOSE_LABELS.get(row.purpose or '', row.purpose or '')}】{row.filename}"
            f"（{size_label(row.size)}）{person} {at}")
