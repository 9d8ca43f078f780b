"""The console over HTTP: login, sessions, CSRF, unit isolation, masking, and the chat going
through the same inbox and outbox as every other platform."""

from __future__ import annotations

import asyncio
import json
import zipfile
from io import BytesIO

import pytest
from sqlalchemy import func, select

from bot.wiring import CHAT_ADAPTERS
from store.models import InboxEvent, Ticket, UsedToken
from tests.conftest import ticket_body
from tests.web.console.conftest import console_overrides, settle
from web.console.auth import COOKIE, hash_password, one_time_link, verify_password

NUMBER = "202611230001"


async def _bot_with_ticket(make_bot, **ticket):
    bot = await make_bot(**console_overrides())
    r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK", **ticket))
    assert r.status == 201
    return bot


def test_password_hash_roundtrip() -> None:
    stored = hash_password("口令")
    assert stored.startswith("scrypt$") and verify_password("口令", stored)
    assert not verify_password("口令2", stored)
    assert not verify_password("口令", "not-a-hash")


async def test_every_console_page_and_stream_refused_without_login(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    anon = make_user(bot)
    for path in ("/console", "/console/tickets", f"/console/tickets/12345/{NUMBER}",
                 f"/console/tickets/12345/{NUMBER}/forms/signoff",
                 f"/console/tickets/12345/{NUMBER}/forms/signoff.docx"):
        r = await anon.get(path, allow_redirects=False)
        assert r.status == 302 and r.headers["Location"].startswith("/console/login"), path
    for path in ("/console/api/events", "/console/api/history?chat=g:ylk"):
        r = await anon.get(path)
        assert r.status == 401, path
        assert (await r.json())["error"] == "login_required"
    r = await anon.say("g:ylk", "@热线助手 签收 0001", csrf="whatever")
    assert r.status == 401
    # A forged cookie is no session either.
    anon.http.cookie_jar.update_cookies({COOKIE: "eyJwIjoi546L5Yqe5YWsIn0.forged"},
                                        bot.client.make_url("/console"))
    assert (await anon.get("/console/api/events")).status == 401
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0


async def test_password_login_sets_strict_httponly_cookie(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    user = make_user(bot)
    bad = await user.login("张承办", "wrong")
    assert bad.status == 401 and "姓名或密码不正确" in await bad.text()
    assert (await user.get("/console/api/history?chat=g:ylk")).status == 401
    ok = await user.login("张承办")
    assert ok.status == 302
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    page = await user.page("/console")
    assert "养老服务科群" in page and "社会救助科群" not in page
    assert user.csrf


async def test_password_guessing_is_throttled_per_person(make_bot, make_user, clock) -> None:
    from web.console.throttle import PER_PERSON, WINDOW

    bot = await make_bot(**console_overrides())
    guesser = make_user(bot)
    for _ in range(PER_PERSON):
        r = await guesser.login("张承办", "guess")
        assert r.status == 401 and "姓名或密码不正确" in await r.text()
    blocked = await guesser.login("张承办")  # even the right password: no oracle while blocked
    assert blocked.status == 429 and "登录失败次数过多" in await blocked.text()
    assert (await guesser.get("/console/api/history?chat=g:ylk")).status == 401
    other = await make_user(bot).login("李科长")  # another person is not affected
    assert other.status == 302
    clock.advance(WINDOW)
    ok = await guesser.login("张承办")
    assert ok.status == 302
    again = await guesser.login("张承办", "guess")  # the success cleared the count
    assert again.status == 401


async def test_one_time_link_works_once(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    with pytest.raises(KeyError):
        one_time_link(bot.ctx.config, "不存在的人")
    first = make_user(bot)
    r = await first.login_link("李科长")
    assert r.status == 302 and r.headers["Location"] == "/console"
    assert "李科长" in await first.page("/console")
    # The same link again (same token) is refused: single use is recorded in used_tokens.
    link = one_time_link(bot.ctx.config, "李科长", clock=bot.clock)
    second, third = make_user(bot), make_user(bot)
    path = link[link.index("/console"):]
    for u in (second, third):
        text = await (await u.get(path)).text()
        assert "以 <b>李科长</b> 的身份登录" in text
    import re

    async def spend(u):
        text = await (await u.get(path)).text()
        csrf = re.search(r'name="csrf" value="([^"]*)"', text).group(1)
        return await u.http.post(u.url("/console/login/link"), data={"csrf": csrf, "t": path.split("t=")[1]},
                                 allow_redirects=False)
    assert (await spend(second)).status == 302
    again = await spend(third)
    assert again.status == 400 and "已使用过" in await again.text()
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(UsedToken))).scalar_one() == 2


async def test_posts_without_csrf_are_refused(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    user = make_user(bot)
    await user.login("张承办")
    assert (await user.say("g:ylk", "@热线助手 签收 0001", csrf="")).status == 403
    assert (await user.say("g:ylk", "@热线助手 签收 0001", csrf="forged-token")).status == 403
    r = await user.http.post(user.url(f"/console/tickets/12345/{NUMBER}/act"),
                             data={"cmd": "签收", "event_id": "x" * 12}, allow_redirects=False)
    assert r.status == 403
    r = await user.http.post(user.url("/console/logout"), allow_redirects=False)
    assert r.status == 403
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0
        assert (await s.execute(select(Ticket.state))).scalar_one() == "dispatched"
    ok = await user.say("g:ylk", "@热线助手 签收 0001")
    assert ok.status == 202


async def test_handler_cannot_see_another_units_ticket(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    other = make_user(bot)
    await other.login("陈承办")  # 社会救助科
    for path in (f"/console/tickets/12345/{NUMBER}", f"/console/tickets/12345/{NUMBER}/forms/signoff",
                 f"/console/tickets/12345/{NUMBER}/forms/lichuan.docx"):
        assert (await other.get(path)).status == 404, path
    listing = await other.page("/console/tickets")
    assert NUMBER not in listing
    assert (await other.get("/console/api/history?chat=g:ylk")).status == 403
    assert (await other.say("g:ylk", "@热线助手 查询 0001")).status == 403
    r = await other.http.post(other.url(f"/console/tickets/12345/{NUMBER}/act"),
                              data={"cmd": "签收", "csrf": other.csrf, "event_id": "e" * 16},
                              allow_redirects=False)
    assert r.status == 404
    office = make_user(bot)
    await office.login("王办公")
    assert NUMBER in await office.page("/console/tickets")


async def test_phone_masked_unless_office_or_assignee(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    path = f"/console/tickets/12345/{NUMBER}"
    users = {}
    for name in ("王办公", "李科长", "张承办", "刘承办"):
        users[name] = make_user(bot)
        await users[name].login(name)
    assert "13812341234" in await users["王办公"].page(path)
    leader = await users["李科长"].page(path)
    assert "138****1234" in leader and "13812341234" not in leader and "张三" not in leader
    assert "13812341234" not in await users["张承办"].page(path)
    assert (await users["张承办"].say("g:ylk", "@热线助手 签收 0001")).status == 202
    await settle(bot)
    assert "13812341234" in await users["张承办"].page(path)  # now the 承办人
    peer = await users["刘承办"].page(path)
    assert "138****1234" in peer and "13812341234" not in peer
    form = await users["刘承办"].page(f"{path}/forms/songjiang")
    assert "138****1234" in form and "13812341234" not in form


async def test_chat_goes_through_inbox_and_outbox(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    handler = make_user(bot)
    await handler.login("张承办")
    await settle(bot)  # the assignment card reaches the group
    items = await handler.history("g:ylk")
    card = next(i for i in items if i["title"] == f"新工单 {NUMBER}")
    assert card["from"] == "bot" and [a["command"] for a in card["actions"]] == ["签收"]
    assert "138****1234" in card["text"]

    r = await handler.say("g:ylk", "@热线助手 签收 0001", event_id="evt-0000000001")
    assert r.status == 202 and (await r.json())["duplicate"] is False
    await settle(bot)
    again = await handler.say("g:ylk", "@热线助手 签收 0001", event_id="evt-0000000001")
    assert (await again.json())["duplicate"] is True
    await settle(bot)
    async with bot.ctx.sessions() as s:
        t = (await s.execute(select(Ticket))).scalar_one()
        assert t.state == "accepted" and t.handler_id == bot.ctx.directory.people["张承办"].id
        ev = (await s.execute(select(InboxEvent))).scalar_one()
    assert ev.payload["platform"] == "console" and ev.payload["chat_kind"] == "group"
    assert ev.payload["text"] == "签收 0001" and ev.payload["mentioned_bot"] is True
    items = await handler.history("g:ylk")
    texts = [(i["from"], i["text"]) for i in items]
    assert ("张承办", "@热线助手 签收 0001") in texts
    assert any(f == "bot" and "张承办 已签收工单" in t for f, t in texts)

    # Without the @mention a group message is not for the bot: stored, but unanswered.
    await handler.say("g:ylk", "大家好")
    await settle(bot)
    assert not any("没有看懂" in i["text"] for i in await handler.history("g:ylk"))
    # In the direct conversation every message is for the bot.
    await handler.say("d:张承办", "待办")
    await settle(bot)
    dm = await handler.history("d:张承办")
    assert any(i["from"] == "bot" and NUMBER in i["text"] for i in dm)


async def test_leader_clicks_approve_on_the_review_card(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    handler, leader = make_user(bot), make_user(bot)
    await handler.login("张承办")
    await leader.login("李科长")
    await handler.say("g:ylk", "@热线助手 签收 0001")
    await settle(bot)
    await handler.say("g:ylk", "@热线助手 答复 0001 实际解决。11月23日10时与来电人电话沟通，"
                      "已恢复助餐服务，来电人表示接受。")
    await settle(bot)
    card = next(i for i in await leader.history("g:ylk") if i["title"].startswith("答复待审核"))
    assert "李科长" in card["mentions"]
    approve = next(a for a in card["actions"] if a["command"] == "同意")
    assert (await leader.click("g:ylk", card["id"], approve)).status == 202
    await settle(bot)
    async with bot.ctx.sessions() as s:
        assert (await s.execute(select(Ticket.state))).scalar_one() == "answered"
    items = await leader.history("g:ylk")
    card = next(i for i in items if i["id"] == card["id"])
    assert card["update"] == f"【已处理】李科长 已同意 工单 {NUMBER}"
    assert any(i["type"] == "click" and i["from"] == "李科长" for i in items)
    # The button is single use.
    assert (await leader.click("g:ylk", card["id"], approve)).status == 202
    await settle(bot)
    assert any("该按钮已被使用过" in i["text"] for i in await leader.history("g:ylk"))

    # The signed 签批表 shows the decision and its time (Mon 2026-11-23 10:00 on the frozen clock).
    form = await leader.page(f"/console/tickets/12345/{NUMBER}/forms/signoff")
    assert "同意" in form and "签字：李科长" in form and "2026年11月23日 10:00" in form
    assert "☑实际解决" in form and "☑电话" in form
    r = await leader.get(f"/console/tickets/12345/{NUMBER}/forms/signoff.docx")
    assert r.status == 200
    with zipfile.ZipFile(BytesIO(await r.read())) as z:
        xml = z.read("word/document.xml").decode()
    assert "签字：李科长" in xml and "12345" in xml


async def test_events_stream_delivers_live_to_allowed_readers(make_bot, make_user) -> None:
    bot = await _bot_with_ticket(make_bot)
    handler, leader, stranger = make_user(bot), make_user(bot), make_user(bot)
    await handler.login("张承办")
    await leader.login("李科长")
    await stranger.login("陈承办")
    await settle(bot)  # the assignment card is delivered before anyone listens
    stream = await leader.get("/console/api/events")
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    other = await stranger.get("/console/api/events")
    await stream.content.readuntil(b"\n\n")  # "retry" + connected comment
    await other.content.readuntil(b"\n\n")
    adapter = bot.client.app[CHAT_ADAPTERS]["console"]
    assert adapter.hub.count == 2
    await handler.say("g:ylk", "@热线助手 签收 0001")

    async def next_event(resp):
        while True:
            block = (await resp.content.readuntil(b"\n\n")).decode()
            if block.startswith("event: chat"):
                return json.loads(block.split("data: ", 1)[1])

    got = await asyncio.wait_for(next_event(stream), 5)
    assert got["from"] == "张承办" and got["chat"] == "g:ylk"
    await settle(bot)
    got = await asyncio.wait_for(next_event(stream), 5)
    assert got["from"] == "bot" and "已签收" in got["text"]
    # 陈承办's stream (社会救助科) carries nothing of 养老服务科's group.
    subs = {s.person: s for s in adapter.hub._subscribers}
    assert subs["陈承办"].queue.empty() and "g:ylk" not in subs["陈承办"].chats
    stream.close()
    other.close()


async def test_office_dispatches_from_the_ticket_page(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    assert (await bot.post_ticket(ticket_body(NUMBER))).status == 201  # registered, no unit
    office = make_user(bot)
    await office.login("王办公")
    page = await office.page(f"/console/tickets/12345/{NUMBER}")
    assert "派单 / 转办" in page and "同意" not in page
    import re

    event_id = re.search(r'name="event_id" value="([^"]+)"', page).group(1)
    r = await office.http.post(office.url(f"/console/tickets/12345/{NUMBER}/act"), data={
        "csrf": office.csrf, "cmd": "转办", "unit": "SHJZK", "event_id": event_id}, allow_redirects=False)
    assert r.status == 303
    follow = await office.page(r.headers["Location"])
    assert "flash" in follow and "社会救助科" in follow
    async with bot.ctx.sessions() as s:
        t = (await s.execute(select(Ticket))).scalar_one()
    assert (t.state, t.unit_code) == ("dispatched", "SHJZK")
    handler = make_user(bot)
    await handler.login("张承办")
    assert (await handler.get(f"/console/tickets/12345/{NUMBER}")).status == 404  # now 社会救助科's


async def test_dashboard_filters_overdue_and_marks_sensitive(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides())
    # Received 2026-11-02 (Mon): 7 working days → Wed 2026-11-11 17:30, overdue on 2026-11-23.
    old = ticket_body("202611020009", received_at="2026-11-02T09:00:00+08:00", unit="YLK",
                      content="旧的工单", tags=["涉稳"])
    assert (await bot.post_ticket(old)).status == 201
    assert (await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))).status == 201
    office = make_user(bot)
    await office.login("王办公")
    page = await office.page("/console/tickets?overdue=1")
    assert "202611020009" in page and NUMBER not in page
    assert 'class="overdue" data-number="202611020009"' in page
    assert '<span class="tag sensitive">涉稳</span>' in page
    assert "11月11日 17:30" in page
    everything = await office.page("/console/tickets")
    assert everything.index("202611020009") < everything.index(NUMBER)  # sorted by deadline
    assert "已超期<b>1</b>" in everything
    tagged = await office.page("/console/tickets?tag=涉稳")
    assert "202611020009" in tagged and NUMBER not in tagged


async def test_demo_tickets_seeded_once_into_an_empty_store(make_bot, make_user) -> None:
    bot = await make_bot(**console_overrides(demo_tickets=True, require_login=False))
    async with bot.ctx.sessions() as s:
        tickets = list((await s.execute(select(Ticket))).scalars())
    assert len(tickets) == 4
    assert {t.unit_code for t in tickets} == {"YLK", "SHJZK", None}
    from web.console.demo import seed_demo_tickets

    assert await seed_demo_tickets(bot.ctx) == 0
    picker = make_user(bot)
    text = await (await picker.get("/console/login")).text()
    assert "请选择您要扮演的人员" in text and "王办公" in text
    r = await picker.login("王办公", password="")
    assert r.status == 302
    assert "DEMO" in await picker.page("/console/tickets")
    # The picker does not lift CSRF.
    assert (await picker.say("g:bgs", "@热线助手 帮助", csrf="")).status == 403
