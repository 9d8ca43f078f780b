"""Personal numbers written inside free text are masked before the text leaves for a group chat
(issue 14, privacy): the masker itself, and the dispatch notice over HTTP on a real store."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.privacy import excerpt, mask_text
from store.models import OutboxMessage
from tests.conftest import ticket_body


@pytest.mark.parametrize(("text", "hidden", "shown"), [
    ("请回电13912345678", "13912345678", "139****5678"),
    ("电话 139-1234-5678 或 139 1234 5678", "1234-5678", "139****5678"),
    ("+86 13912345678", "13912345678", "139****5678"),
    ("身份证420102199001011234", "420102199001011234", "420****1234"),
    ("身份证号 42010219900101123x", "42010219900101123x", "420****123x"),
    ("座机 027-87654321", "87654321", "027****4321"),
    ("卡号6222021234567890123", "6222021234567890123", "622****0123"),
])
def test_numbers_in_text_are_masked(text: str, hidden: str, shown: str) -> None:
    masked = mask_text(text)
    assert hidden not in masked and shown in masked, masked


@pytest.mark.parametrize("text", ["工单 202611230001 已签收", "2026年11月23日 10:00", "共 3 件，金额 12000 元",
                                  "编号 12345678901234"])
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_excerpt_masks_before_cutting() -> None:
    # A number cut in half by the limit must not survive as an unmasked prefix.
    assert excerpt("x" * 15 + "13912345678", 20) == "x" * 15 + "139*…"


async def test_the_units_group_sees_no_full_number_from_the_content(make_bot: Any) -> None:
    bot = await make_bot()
    content = "老人独居无人照料，家属电话13912345678，身份证420102199001011234，请尽快上门。"
    r = await bot.post_ticket(ticket_body(unit="YLK", content=content))
    assert r.status == 201
    async with bot.ctx.sessions() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.channel == "chat"))).scalars().all()
    texts = [row.payload["text"] for row in rows]
    assert any("诉求：" in t for t in texts), texts
    assert all("13912345678" not in t and "420102199001011234" not in t for t in texts)
    assert any("139****5678" in t and "420****1234" in t for t in texts)
