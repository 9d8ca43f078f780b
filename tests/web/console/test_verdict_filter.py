"""The dashboard filter 「待回访核查」 (松江 “办公室对反馈不满意和未回复工单进行核查”): the answered
tickets still without a verdict after ``verdict_wait_wd`` working days, as the office's digest lists them."""

from __future__ import annotations

from tests.scheduler.conftest import Desk
from tests.scheduler.test_followups import NOW, answered_tickets
from tests.web.console.conftest import console_overrides
from tests.web.console.test_dashboard_polish import count_link, listed


async def test_dashboard_filter_lists_the_answered_tickets_without_a_verdict(make_bot, clock, make_user) -> None:
    bot = await make_bot(procedure={"verdict_wait_wd": 3}, **console_overrides())
    await answered_tickets(Desk(bot.ctx, clock))
    clock.set(NOW)
    office = make_user(bot)
    await office.login("王办公")
    board = await office.page("/console/tickets")
    assert "待回访核查<b>2</b>" in board
    page = await office.page(count_link(board, "待回访核查"))
    assert sorted(listed(page)) == ["A1", "A3"]
