"""TicketService guards and the audit trail, on the real app and store (SQLite, and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.lifecycle import GuardFailed, IllegalTransition, NotAllowed
from store.models import AuditEvent, OutboxMessage, ReviewRequest, Ticket
from store.queries import tickets as tickets_q
from tests.conftest import Bot, local, ticket_body

REPLY = "实际解决：11月23日电话联系来电人，养老服务站已恢复供餐。"


async def act(bot: Bot, number: str, fn: Callable[[Any, Ticket], Awaitable[Any]]) -> Any:
    """Run ``fn(session, ticket)`` in one transaction, as a handler does."""
    async with bot.ctx.sessions.begin() as s:
        ticket = await tickets_q.by_key(s, "12345", number)
        assert ticket is not None
        return await fn(s, ticket)


async def state(bot: Bot, number: str) -> Ticket:
    async with bot.ctx.sessions() as s:
        ticket = await tickets_q.by_key(s, "12345", number)
        assert ticket is not None
        return ticket


def person(bot: Bot, name: str) -> Any:
    return bot.ctx.directory.people[name]


async def new_dispatched(bot: Bot, number: str = "T0001", **body: Any) -> str:
    r = await bot.post_ticket(ticket_body(number=number, unit="YLK", **body))
    assert r.status == 201, await r.text()
    return number


async def accepted(bot: Bot, number: str = "T0001", **body: Any) -> str:
    await new_dispatched(bot, number, **body)
    zhang = person(bot, "张承办")
    await act(bot, number, lambda s, t: bot.ctx.service.accept(s, t, zhang, "签收"))
    return number


async def audit_actions(bot: Bot, number: str) -> list[tuple[str, str | None, str | None]]:
    async with bot.ctx.sessions() as s:
        t = await tickets_q.by_key(s, "12345", number)
        rows = (await s.execute(select(AuditEvent).where(AuditEvent.ticket_id == t.id)  # type: ignore[union-attr]
                                .order_by(AuditEvent.id))).scalars()
        return [(r.action, r.state_before, r.state_after) for r in rows]


# ---- extensions ---------------------------------------------------------------------------


async def test_one_extension_then_refused(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    svc, zhang, li = bot.ctx.service, person(bot, "张承办"), person(bot, "李科长")
    until = local(2026, 12, 9, 17, 30)
    await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", until, "需协调街道"))
    # A second request while the first waits is refused too.
    with pytest.raises(GuardFailed) as waiting:
        await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", until, "再延"))
    assert waiting.value.code == "extension_pending"
    # The handler may not approve it; the leader may.
    with pytest.raises(NotAllowed):
        await act(bot, number, lambda s, t: svc.approve(s, t, zhang, "同意", ""))
    await act(bot, number, lambda s, t: svc.approve(s, t, li, "同意", ""))
    t = await state(bot, number)
    assert t.state == "accepted" and t.extension_state == "granted" and t.extensions_granted == 1
    assert t.deadline == until
    later = local(2026, 12, 16, 17, 30)
    with pytest.raises(GuardFailed) as second:
        await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", later, "还要再延"))
    assert second.value.code == "extension_limit"
    assert (await state(bot, number)).deadline == until
    actions = [a for a, _, _ in await audit_actions(bot, number)]
    assert actions.count("request_extension") == 1 and actions.count("approve_extension") == 1


async def test_max_extensions_from_a_config_rule(make_bot) -> None:
    bot = await make_bot(procedure={"preset": "songjiang", "rules": [
        {"name": "两次延期", "overlay": True, "max_extensions": 2}]})
    number = await accepted(bot)
    svc, zhang, li = bot.ctx.service, person(bot, "张承办"), person(bot, "李科长")
    for day in (9, 16):
        until = local(2026, 12, day, 17, 30)
        await act(bot, number, lambda s, t, u=until: svc.request_extension(s, t, zhang, "延期", u, "理由"))
        await act(bot, number, lambda s, t: svc.approve(s, t, li, "同意", ""))
    with pytest.raises(GuardFailed) as third:
        await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", local(2026, 12, 23, 17, 30), "x"))
    assert third.value.code == "extension_limit"


async def test_extension_must_be_later_and_reasoned(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    svc, zhang = bot.ctx.service, person(bot, "张承办")
    with pytest.raises(GuardFailed) as earlier:
        await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", local(2026, 12, 1, 17, 30), "x"))
    assert earlier.value.code == "extension_not_later"
    with pytest.raises(GuardFailed) as no_reason:
        await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", local(2026, 12, 9, 17, 30), " "))
    assert no_reason.value.code == "missing_reason"
    # Only the 承办人 who accepted may ask.
    liu = person(bot, "刘承办")
    with pytest.raises(NotAllowed):
        await act(bot, number, lambda s, t: svc.request_extension(s, t, liu, "延期", local(2026, 12, 9, 17, 30), "x"))


@pytest.mark.parametrize(("today", "allowed"), [
    # 疑难 (no category) under 利川: 7wd after Mon 11-23 → Wed 12-02 17:30.
    ((2026, 11, 30, 9, 0), True),    # Mon: Tue 12-01 and Wed 12-02 are still ahead: 2 working days
    ((2026, 12, 1, 9, 0), False),    # Tue: only Wed is ahead
    ((2026, 12, 2, 9, 0), False),    # the deadline day itself
])
async def test_lichuan_extension_needs_two_working_days_notice(make_bot, today: tuple[int, ...],
                                                               allowed: bool) -> None:
    # 利川: 承办单位不能在7天内办结的应在办结时限前2天将情况书面反馈至局办公室.
    bot = await make_bot(procedure={"preset": "lichuan"})
    number = await accepted(bot)
    assert (await state(bot, number)).deadline == local(2026, 12, 2, 17, 30)
    bot.clock.set(local(*today))
    svc, zhang = bot.ctx.service, person(bot, "张承办")
    call = act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", local(2026, 12, 9, 17, 30), "需调查"))
    if allowed:
        await call
        assert (await state(bot, number)).extension_state == "pending"
    else:
        with pytest.raises(GuardFailed) as late:
            await call
        assert late.value.code == "extension_late"
        assert (await state(bot, number)).extension_state is None


async def test_lichuan_notice_skips_weekends(make_bot) -> None:
    # 复杂 → 3wd: received Thu 11-26 → Tue 12-01. On Fri 11-27 the working days ahead are Mon and Tue.
    bot = await make_bot(procedure={"preset": "lichuan"})
    number = await accepted(bot, category="复杂", received_at="2026-11-26T09:00:00+08:00")
    assert (await state(bot, number)).deadline == local(2026, 12, 1, 17, 30)
    bot.clock.set(local(2026, 11, 27, 16, 0))
    svc, zhang = bot.ctx.service, person(bot, "张承办")
    await act(bot, number, lambda s, t: svc.request_extension(s, t, zhang, "延期", local(2026, 12, 8, 17, 30), "需调查"))


# ---- rounds -------------------------------------------------------------------------------


async def answered(bot: Bot, number: str = "T0001") -> str:
    await accepted(bot, number)
    svc = bot.ctx.service
    await act(bot, number, lambda s, t: svc.reply(s, t, person(bot, "张承办"), "答复", REPLY, "实际解决"))
    await act(bot, number, lambda s, t: svc.approve(s, t, person(bot, "李科长"), "同意", ""))
    assert (await state(bot, number)).state == "answered"
    return number


async def test_unsatisfied_feedback_opens_round_two_with_new_deadline(make_bot) -> None:
    bot = await make_bot()
    number = await answered(bot)
    assert (await state(bot, number)).deadline == local(2026, 12, 2, 17, 30)
    bot.clock.set(local(2026, 11, 25, 10, 0))
    outcome = await act(bot, number, lambda s, t: bot.ctx.service.feedback(s, t, "不满意", via="sms", text="不满意"))
    assert outcome == "reopened"
    t = await state(bot, number)
    # A new round counted from Wed 11-25: 7wd → Fri 12-04; the handler must accept again.
    assert (t.state, t.round, t.feedback, t.handler_id) == ("reopened", 2, "不满意", None)
    assert t.deadline == local(2026, 12, 4, 17, 30) and t.internal_due == local(2026, 12, 3, 17, 30)
    await act(bot, number, lambda s, t: bot.ctx.service.accept(s, t, person(bot, "刘承办"), "签收"))
    assert (await state(bot, number)).state == "accepted"


async def test_satisfied_feedback_archives_and_refuses_twice(make_bot) -> None:
    bot = await make_bot()
    number = await answered(bot)
    assert await act(bot, number, lambda s, t: bot.ctx.service.feedback(s, t, "满意", via="sms", text="1")) == "archived"
    with pytest.raises(IllegalTransition) as again:
        await act(bot, number, lambda s, t: bot.ctx.service.feedback(s, t, "满意", via="sms", text="1"))
    assert "已归档" in str(again.value)
    assert (await state(bot, number)).feedback == "满意"


# ---- the audit row commits with the change, or not at all ------------------------------------


class Boom(Exception):
    pass


async def test_every_change_writes_audit_in_the_same_transaction(make_bot) -> None:
    bot = await make_bot()
    number = await new_dispatched(bot)
    zhang = person(bot, "张承办")
    before = await audit_actions(bot, number)

    async def accept_then_fail(s: Any, t: Ticket) -> None:
        await bot.ctx.service.accept(s, t, zhang, "签收")
        await s.flush()  # the audit row and the new state reach the database…
        raise Boom  # …and the transaction is rolled back

    with pytest.raises(Boom):
        await act(bot, number, accept_then_fail)
    t = await state(bot, number)
    assert t.state == "dispatched" and t.handler_id is None
    assert await audit_actions(bot, number) == before

    await act(bot, number, lambda s, t: bot.ctx.service.accept(s, t, zhang, "签收"))
    assert await audit_actions(bot, number) == [*before, ("accept", "dispatched", "accepted")]
    async with bot.ctx.sessions() as s:
        row = (await s.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))).scalar_one()
    assert row.actor == "张承办" and row.text == "签收" and row.outcome == "ok"
    assert row.at == bot.clock.now()


async def test_audit_trail_of_a_whole_round(make_bot) -> None:
    bot = await make_bot()
    number = await answered(bot)
    assert await audit_actions(bot, number) == [
        ("register", None, "registered"),
        ("dispatch", "registered", "dispatched"),
        ("accept", "dispatched", "accepted"),
        ("reply", "accepted", "reply_pending"),
        ("approve_reply", "reply_pending", "answered"),
    ]
    async with bot.ctx.sessions() as s:
        reqs = list((await s.execute(select(ReviewRequest))).scalars())
    assert [(r.kind, r.state) for r in reqs] == [("reply", "approved")]


@pytest.mark.parametrize("asked_in", ["dispatched", "accepted"])
async def test_rejected_giveback_audits_the_state_it_goes_back_to(make_bot, asked_in: str) -> None:
    # Regression: the audit row of a rejected 退单 said "giveback_pending" while the ticket went back.
    bot = await make_bot()
    number = await (accepted(bot) if asked_in == "accepted" else new_dispatched(bot))
    zhang, li = person(bot, "张承办"), person(bot, "李科长")
    await act(bot, number, lambda s, t: bot.ctx.service.request_giveback(s, t, zhang, "退单", "非本科职责"))
    await act(bot, number, lambda s, t: bot.ctx.service.reject(s, t, li, "驳回", "属于本科职责，请办理"))
    assert (await state(bot, number)).state == asked_in
    assert (await audit_actions(bot, number))[-2:] == [
        ("request_giveback", asked_in, "giveback_pending"),
        ("reject_giveback", "giveback_pending", asked_in),
    ]


async def test_refused_command_changes_nothing(make_bot) -> None:
    bot = await make_bot()
    number = await new_dispatched(bot)
    before = await audit_actions(bot, number)
    with pytest.raises(IllegalTransition) as info:
        await act(bot, number, lambda s, t: bot.ctx.service.reply(s, t, person(bot, "张承办"), "答复", REPLY, "实际解决"))
    assert "已派单（待签收）" in str(info.value)
    with pytest.raises(NotAllowed):  # 赵科长 leads another unit
        await act(bot, number, lambda s, t: bot.ctx.service.accept(s, t, person(bot, "赵科长"), "签收"))
    assert await audit_actions(bot, number) == before


# ---- hotline events over HTTP ------------------------------------------------------------------


async def test_urge_event_is_idempotent_by_event_id(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    for _ in range(2):
        r = await bot.post_event("12345", number, {"type": "urge", "id": "EV-1", "note": "市民再次来电"})
        assert r.status == 200
        view = await r.json()
    assert "市级催办" in view["tags"]
    t = await state(bot, number)
    assert t.urge_count == 1
    async with bot.ctx.sessions() as s:
        urges = (await s.execute(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.kind == "urge"))).scalar_one()
    assert urges == 1
    r = await bot.post_event("12345", number, {"type": "urge", "id": "EV-2"})
    assert (await state(bot, number)).urge_count == 2 and r.status == 200


async def test_unknown_ticket_bad_event_and_unsigned(make_bot) -> None:
    bot = await make_bot()
    await new_dispatched(bot)
    assert (await bot.post_event("12345", "NOPE", {"type": "urge"})).status == 404
    bad = await bot.post_event("12345", "T0001", {"type": "poke"})
    assert bad.status == 400 and "type" in (await bad.json())["fields"]
    extra = await bot.post_event("12345", "T0001", {"type": "urge", "colour": "red"})
    assert extra.status == 400 and "colour" in (await extra.json())["fields"]
    unsigned = await bot.client.post("/api/v1/tickets/12345/T0001/events", json={"type": "urge"})
    assert unsigned.status == 401


async def test_reopen_event_gives_round_two(make_bot) -> None:
    bot = await make_bot()
    number = await answered(bot)
    bot.clock.set(local(2026, 11, 26, 9, 0))
    r = await bot.post_event("12345", number, {"type": "reopen", "id": "RO-1", "reason": "市民称问题未解决"})
    assert r.status == 200
    view = await r.json()
    # From Thu 11-26: 7wd → Mon 12-07.
    assert view["state"] == "reopened" and view["round"] == 2
    assert view["deadline"] == "2026-12-07T17:30:00+08:00"
    again = await bot.post_event("12345", number, {"type": "reopen", "id": "RO-1"})
    assert again.status == 200 and (await again.json())["round"] == 2
    refused = await bot.post_event("12345", number, {"type": "reopen", "id": "RO-2"})
    assert refused.status == 409
    assert "重办（待签收）" in (await refused.json())["message"]


async def test_reopen_event_with_the_hotlines_deadline(make_bot) -> None:
    bot = await make_bot()
    number = await answered(bot)
    r = await bot.post_event("12345", number, {"type": "reopen", "deadline": "2026-12-10T12:00:00+08:00"})
    assert (await r.json())["deadline"] == "2026-12-10T12:00:00+08:00"


async def test_extension_decision_events(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    r = await bot.post_event("12345", number, {"type": "extension_decision", "id": "X-1", "granted": True,
                                                "deadline": "2026-12-15T17:30:00+08:00"})
    assert r.status == 200
    view = await r.json()
    assert view["deadline"] == "2026-12-15T17:30:00+08:00"
    assert view["extension"] == {"state": "granted", "requested_until": None,
                                 "granted_until": "2026-12-15T17:30:00+08:00", "label": "已批准",
                                 "applications": 0, "final": True}
    assert view["internal_due"] is None
    # The same event again is a no-op, even with another body.
    again = await bot.post_event("12345", number, {"type": "extension_decision", "id": "X-1", "granted": False})
    assert (await again.json())["extension"]["state"] == "granted"
    other = await accepted(bot, "T0002", content="另一件事")
    refused = await bot.post_event("12345", other, {"type": "extension_decision", "granted": False})
    view2 = await refused.json()
    assert view2["extension"]["state"] == "rejected" and view2["deadline"] == "2026-12-02T17:30:00+08:00"


async def test_close_event_archives_and_then_refuses(make_bot) -> None:
    bot = await make_bot()
    number = await accepted(bot)
    r = await bot.post_event("12345", number, {"type": "close", "id": "C-1"})
    assert r.status == 200 and (await r.json())["state"] == "archived"
    again = await bot.post_event("12345", number, {"type": "close", "id": "C-2"})
    assert again.status == 409
    err = await again.json()
    assert err["error"] == "wrong_state" and "已归档" in err["message"]
    urge = await bot.post_event("12345", number, {"type": "urge", "id": "U-9"})
    assert urge.status == 409

