"""What the office and the handler see of a 重复件: the earlier tickets it repeats, each with its
approved answer, and the answer 利川 prescribes for it ("于什么时间回复，该件为重复件")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from store.models import ReviewRequest, Ticket

CHAIN = 5  # how far back a repeat of a repeat is followed
ANSWER_COMMAND = "按重复件答复"


@dataclass(frozen=True, slots=True)
class Earlier:
    """An earlier ticket a new one repeats, with its approved answer (None while unanswered)."""

    ticket: Ticket
    answer: str | None
    answered_at: datetime | None


async def earlier_tickets(s: AsyncSession, ticket: Ticket) -> list[Earlier]:
    """The tickets ``ticket`` repeats, nearest first, following ``duplicate_of`` back."""
    out: list[Earlier] = []
    seen = {ticket.id}
    current = ticket.duplicate_of
    while current is not None and current not in seen and len(out) < CHAIN:
        seen.add(current)
        earlier = await s.get(Ticket, current)
        if earlier is None:
            break
        q = (select(ReviewRequest).where(ReviewRequest.ticket_id == earlier.id, ReviewRequest.kind == "reply",
                                         ReviewRequest.state == "approved")
             .order_by(ReviewRequest.decided_at.desc(), ReviewRequest.id.desc()).limit(1))
        reply = (await s.execute(q)).scalar_one_or_none()
        out.append(Earlier(earlier, reply.content if reply else None,
                           (reply.decided_at or reply.requested_at) if reply else None))
        current = earlier.duplicate_of
    return out


def office_note(cal: WorkCalendar, ticket: Ticket, found: list[Earlier]) -> str:
    """To the office: the new ticket repeats these earlier ones; their answers."""
    lines = [f"工单 {ticket.number} 与同一来电人此前的诉求基本一致，已记为重复件："]
    for e in found:
        local = cal.local(e.ticket.received_at)
        answer = f"已答复：{e.answer[:80]}" if e.answer else "尚未答复"
        lines.append(f"· {e.ticket.number}（{local.month}月{local.day}日登记，{answer}）"
                     f" /console/tickets/{e.ticket.source}/{e.ticket.number}")
    lines.append(f"承办人可回复「{ANSWER_COMMAND} {ticket.number}」一键按重复件答复。")
    return "\n".join(lines)
