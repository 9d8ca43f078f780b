"""涉众 at registration: other citizens who reported the same matter at the same place within the
ticket's window. Marked apart from 重复件 (which is one citizen asking again): the new ticket gets
the 涉众 tag, a ``related`` audit row naming the earlier tickets, and the office a note."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import WorkCalendar
from bot.reading.text import fold, letters
from store.models import Ticket

TAG = "涉众"
CANDIDATES = 200  # the newest tickets at one address compared with a new one
SHOWN = 5
SHORT = 20  # character pairs under which a text is short: it must share more than the threshold
# What any two reports say, whatever the matter: asking, thanking, urging.
_BOILERPLATE = re.compile(r"请尽快|尽快|处理|解决|相关部门|有关部门|部门|希望|要求|请问|请求|您好|你好|谢谢|麻烦|"
                          r"反映|投诉|市民|来电|严重|影响|问题|情况|一下|请")
_PARTICLES = re.compile(r"[的了着过很也都就还又呢吧啊吗]")
_BREAK = re.compile(r"[\W_]+")


def content(text: str, address: str) -> list[str]:
    """What ``text`` says about its matter, as runs of characters: folded, without the address or
    any part of it of 3 characters or more ("人民路88号" of "松江区人民路88号"), the asking and
    thanking, particles (的/了…); a removed part or punctuation breaks a run."""
    rest, where = fold(text), letters(address)
    for size in range(len(where), 2, -1):
        for start in range(len(where) - size + 1):
            rest = rest.replace(where[start:start + size], "，")
    rest = _PARTICLES.sub("", _BOILERPLATE.sub("，", rest))
    return [run for run in _BREAK.split(rest) if run]


@lru_cache(maxsize=4096)
def _pairs(text: str, address: str) -> frozenset[str]:
    """The character pairs of :func:`content` (cached: an earlier ticket is compared with many)."""
    return frozenset(run[i:i + 2] for run in content(text, address) for i in range(len(run) - 1))


def alike(a: str, b: str, address: str, threshold: float) -> bool:
    """Whether two texts at ``address`` are about one matter: of the shorter one's character pairs
    (:func:`content`: the address and boilerplate apart), the other holds at least ``threshold``,
    more for a short one (up to halfway to all of them under :data:`SHORT` pairs), since two short
    texts share a large part by chance ("路灯坏了" and "井盖坏了")."""
    pa, pb = _pairs(a, address), _pairs(b, address)
    n = min(len(pa), len(pb))
    if n == 0:
        return False
    need = threshold + (1 - threshold) * max(0, SHORT - n) / (2 * SHORT)
    return len(pa & pb) / n >= need


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
