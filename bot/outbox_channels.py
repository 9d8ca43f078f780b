"""The ``chat`` and ``report`` outbox channels (the ``sms`` one is the SMS gateway).

A dead chat message or hotline report alerts the office once; a dead alert does not alert again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.labels import CHANNEL_LABELS
from bot.messages import Destination, OutgoingMessage
from bot.outbox import Target
from bot.ports import ChatAdapter
from bot.send_errors import PermanentSendError, TransientSendError
from store.models import OutboxMessage, Ticket
from store.queries import attachments as attachments_q


def delivery_key(row: OutboxMessage) -> str:
    """The same for every attempt at ``row``, and unlike any other row's, even another
    deployment's sharing the platform app (the id and its creation time): the platform's
    idempotency key where it has one."""
    return f"hb{row.id}-{int(row.created_at.timestamp() * 1000)}"


def alert_office(ctx: BotContext, s: AsyncSession, row: OutboxMessage, exc: Exception) -> None:
    """Tell the office once that ``row`` will not be delivered (never for an alert itself)."""
    if row.kind == "dead_letter_alert":
        return
    what = CHANNEL_LABELS.get(row.channel, "消息")
    ctx.outbox.add(s, Target.to_office(), OutgoingMessage(
        f"【发送失败】一条消息（{what} #{row.id}）多次发送失败，已停止重试：{str(exc)[:100]}"),
        ticket_id=row.ticket_id, kind="dead_letter_alert", dedupe_key=f"dead:{row.id}")


class ChatChannel:
    """Group and private chat messages, through the configured platforms' adapters."""

    def __init__(self, ctx: BotContext, adapters: Mapping[str, ChatAdapter]) -> None:
        self.ctx = ctx
        self.adapters = adapters

    def rate_limit(self, dest: Destination) -> tuple[int, float] | None:
        """The platform's limit for ``dest`` (per group or per robot), when it has one."""
        fn = getattr(self.adapters.get(dest.platform), "rate_limit", None)
        return fn(dest) if fn else None

    async def deliver(self, row: OutboxMessage) -> str:
        """Send the message, or update the card it replaces; the platform's message id."""
        http = self.ctx.http
        assert http is not None
        dest = Destination.from_dict(row.destination)
        adapter = self.adapters.get(dest.platform)
        if adapter is None:
            raise PermanentSendError(f"platform {dest.platform} is not configured")
        message = OutgoingMessage.from_dict(row.payload)
        update_id = row.payload.get("update_message_id")
        if update_id and row.payload.get("update_only"):
            # Marking a card handled after a decision elsewhere: only where the platform can
            # update that card; never a new message, and a refused update is no alert.
            can = getattr(adapter, "can_update", None)
            if not (hasattr(adapter, "update_card") and can and can(str(update_id))):
                return ""
            try:
                await adapter.update_card(http, dest, update_id, message)
            except PermanentSendError:
                return ""
            return str(update_id)
        if update_id and hasattr(adapter, "update_card"):
            await adapter.update_card(http, dest, update_id, message)
            return str(update_id)
        result = await adapter.send(http, dest, message, key=delivery_key(row))
        return str(result.message_id)

    async def after_send(self, s: AsyncSession, row: OutboxMessage, provider_id: str) -> None:
        """Nothing beyond the outbox row itself."""

    async def after_dead(self, s: AsyncSession, row: OutboxMessage, exc: Exception) -> None:
        """The office hears of it."""
        alert_office(self.ctx, s, row, exc)


class ReportChannel:
    """Signed JSON posts of 办理情况 to the hotline platform's report endpoint."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    def rate_limit(self, dest: Destination) -> tuple[int, float] | None:
        """The report endpoint has no published limit."""
        return None

    async def deliver(self, row: OutboxMessage) -> str:
        """POST the report, signed with ``[hotline] report_secret``; no message id comes back."""
        ctx = self.ctx
        assert ctx.http is not None
        dest = Destination.from_dict(row.destination)
        raw = json.dumps(await self.with_evidence(row), ensure_ascii=False).encode()
        ts = str(int(ctx.clock.now().timestamp()))
        secret = ctx.config.hotline.report_secret.encode()
        sig = hmac.new(secret, ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        async with ctx.http.post(dest.user_id, data=raw, headers={
                "Content-Type": "application/json", "X-Hotline-Timestamp": ts,
                "X-Hotline-Signature": sig}) as resp:
            if resp.status >= 500 or resp.status == 429:
                raise TransientSendError(f"report endpoint answered {resp.status}", code=resp.status)
            if resp.status >= 400:
                raise PermanentSendError(f"report endpoint answered {resp.status}", code=resp.status)
        return ""

    async def after_send(self, s: AsyncSession, row: OutboxMessage, provider_id: str) -> None:
        """Nothing beyond the outbox row itself."""

    async def after_dead(self, s: AsyncSession, row: OutboxMessage, exc: Exception) -> None:
        """The office hears of it."""
        alert_office(self.ctx, s, row, exc)

    async def with_evidence(self, row: OutboxMessage) -> dict[str, Any]:
        """The report with the 承办人 (name, title, phone) and the round's attachments, as signed
        expiring links or the files themselves (``[attachments] report``); 平顶山 "上传领导签发及办理过程
        图片", "注明…负责人信息（含姓名、职务、联系方式）". Read at delivery, so links are fresh."""
        payload = dict(row.payload)
        if row.ticket_id is None:
            return payload
        ctx = self.ctx
        async with ctx.sessions() as s:
            ticket = await s.get(Ticket, row.ticket_id)
            rows = await attachments_q.of_ticket(s, row.ticket_id, int(payload.get("round", 0)) or None)
        handler = ctx.directory.person_by_id(ticket.handler_id) if ticket else None
        if handler is not None:
            payload["handler"] = handler.contact
        if rows:
            now = ctx.clock.now()
            payload["attachments"] = [ctx.attachments.report_entry(a, now) for a in rows]
        return payload
