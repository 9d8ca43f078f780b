"""The 重复件 answer, filled in from the earlier ticket (利川 “于什么时间回复，该件为重复件”).

``答复 NO 重复件`` on a ticket registration linked to an earlier one (``Ticket.duplicate_of``,
``bot.registration``) becomes, in one step, an answer that says when the earlier ticket was
answered and points at its approved answer (and at its page, where the console has a public URL).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.config import Config
from bot.lifecycle import GuardFailed, State
from bot.links import ticket_page
from bot.notices import fmt_time, short_content
from store.models import Ticket
from store.queries import tickets as tickets_q

MARK = "重复件"
"""What the 承办人 writes after the number to answer a repeat ticket."""


def asks_duplicate(content: str) -> bool:
    """Whether the answer's text asks for the 重复件 answer."""
    return content.strip().startswith(MARK)


async def duplicate_text(s: AsyncSession, ticket: Ticket, content: str, cal: WorkCalendar,
                         config: Config) -> str | None:
    """The 重复件 answer of ``ticket`` (None when it is not one or was not asked for).

    Raises GuardFailed when the earlier ticket has no approved answer yet: there is nothing to
    point at, so the 承办人 answers it first (or writes the answer in full)."""
    if ticket.duplicate_of is None or not asks_duplicate(content):
        return None
    earlier = await s.get(Ticket, ticket.duplicate_of)
    if earlier is None:
        return None
    answer = await tickets_q.approved_answer(s, earlier.id)
    if answer is None or answer.decided_at is None:
        raise GuardFailed(f"工单 {ticket.number} 是工单 {earlier.number} 的重复件，但该件尚未答复。"
                          f"请先答复工单 {earlier.number}，再回复「答复 {ticket.number} 重复件」；"
                          "或直接写明完整答复。", state=State(ticket.state), code="duplicate_unanswered")
    note = content.strip().removeprefix(MARK).strip(" ：:，,。")
    link = ticket_page(config, earlier)
    text = (f"于{fmt_time(cal, answer.decided_at)}回复，该件为重复件（原工单 {earlier.number}）。"
            f"原答复：{short_content(answer.content, 200)}")
    if link:
        text += f" 详见：{link}"
    return f"{text} {note}".rstrip() if note else text
