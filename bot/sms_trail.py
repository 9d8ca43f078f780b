"""The SMS part of a ticket's 痕迹 for 查询: what was sent, what became of it, what the citizen said."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.labels import SMS_KIND_LABELS, SMS_STATE_LABELS, error_label
from bot.notices import fmt_time
from bot.privacy import excerpt
from store.models import SmsMessage, SmsReplyRecord, Ticket

KIND_LABELS = SMS_KIND_LABELS  # kept: other modules import the SMS labels from here
STATE_LABELS = SMS_STATE_LABELS
LIMIT = 3


async def sms_lines(s: AsyncSession, ticket: Ticket, cal: WorkCalendar) -> list[str]:
    """Short lines about the ticket's latest SMS and citizen replies (no phone numbers)."""
    sent = list((await s.execute(select(SmsMessage).where(SmsMessage.ticket_id == ticket.id)
                                 .order_by(SmsMessage.id.desc()).limit(LIMIT))).scalars())
    replies = list((await s.execute(select(SmsReplyRecord).where(SmsReplyRecord.ticket_id == ticket.id)
                                    .order_by(SmsReplyRecord.id.desc()).limit(LIMIT))).scalars())
    lines: list[str] = []
    if sent:
        lines.append("短信：" + "；".join(
            f"{KIND_LABELS.get(m.kind, m.kind)}{STATE_LABELS.get(m.state, m.state)}"
            f"{'（' + error_label(m.code) + '）' if m.code and m.state in ('failed', 'unknown') else ''}"
            f" {fmt_time(cal, m.updated_at)}" for m in reversed(sent)))
    if replies:
        via = {"page": "评价页面"}
        lines.append("来电人回复：" + "；".join(
            f"「{excerpt(r.text, 30)}」{via.get(r.provider, '短信')} {fmt_time(cal, r.received_at)}" for r in reversed(replies)))
    return lines
