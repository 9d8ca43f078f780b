"""涉众 at registration: other citizens who reported the same matter at the same place within the
ticket's window. Marked apart from 重复件 (which is one citizen asking again): the new ticket gets
the 涉众 tag, a ``related`` audit row naming the earlier tickets, and the office a note."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.reading.similar import similarity
from store.models import Ticket

TAG = "涉众"
CANDIDATES = 200  # the newest tickets at one address compared with a new one
SHOWN = 5


def alike(a: str, b: str, address: str, threshold: float) -> bool:
    """Whether two texts at ``address`` are about one matter: their words without the address
    itself (which they share by construction) are at least ``threshold`` alike."""
    return similarity(a.replace(address, ""), b.replace(address, "")) >= threshold


async def related_tickets(s: AsyncSession, ticket: Ticket, window_days: int, threshold: float) -> list[Ticket]:
    """Earlier tickets at ``ticket``'s address, from other citizens, within ``window_days``, whose
    words are at least ``threshold`` alike (oldest first); none without an address or a window."""
    if not ticket.address or window_days <= 0:
        return []
    q = (select(Ticket).where(Ticket.address == ticket.address, Ticket.id != ticket.id,
                              Ticket.received_at >= ticket.received_at - timedelta(days=window_days))
         .order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(CANDIDATES))
    found = [t for t in (await s.execute(q)).scalars()
             if t.citizen_phone != ticket.citizen_phone and alike(t.content, ticket.content, ticket.address, threshold)]
    return sorted(found, key=lambda t: (t.received_at, t.id))


def office_note(cal: WorkCalendar, ticket: Ticket, found: list[Ticket]) -> str:
    """To the office: other citizens reported this matter at this place; the earlier tickets."""
    citizens = len({t.citizen_phone for t in found if t.citizen_phone}) or len(found)
    lines = [f"工单 {ticket.number} 与另外 {citizens} 位群众此前反映的同一地点同一事项相近，已标记为{TAG}："]
    for t in found[-SHOWN:]:
        local = cal.local(t.received_at)
        lines.append(f"· {t.number}（{local.month}月{local.day}日登记） /console/tickets/{t.source}/{t.number}")
    lines.append("请留意是否需要合并处理或上报。")
    return "\n".join(lines)
