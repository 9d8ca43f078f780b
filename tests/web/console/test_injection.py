"""Every page escapes what it shows: ``<script>`` and both quotes and ``&`` fed through each field a
page can show (ticket fields, unit and people names, the bot's name, tags, the answer, the leader's
note, audit texts, chat labels, query parameters echoed into forms) come out escaped, never raw."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import escape
from sqlalchemy import select

from bot.sms_gateway import citizen_token
from store.models import Ticket
from tests.conftest import ticket_body
from tests.web.console.conftest import console_people, settle

EVIL = "<script>alert(1)</script>\"'&"
ESCAPED = str(escape(EVIL))  # &lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;
RAW = "<script>alert(1)</script>"
NUMBER = "202611230001"
UNIT = "养老" + EVIL
HANDLER = "张" + EVIL
BOT = "助手" + EVIL


def _console_script() -> str:
    return (Path(__file__).resolve().parents[3] / "web" / "static" / "console.js").read_text(encoding="utf-8")


def _evil_overrides() -> dict[str, Any]:
    people = console_people()
    for p in people:
        if p["name"] == "张承办":
            p["name"] = HANDLER
    from tests.conftest import base_config

    units = base_config("sqlite://")["units"]
    for u in units:
        if u["code"] == "YLK":
            u["name"] = UNIT
    return {"units": units, "people": people,
            "platforms": {"console": {"enabled": True, "require_login": False, "name": BOT}}}


def assert_escaped(page: str, where: str, *, shows: bool = True) -> None:
    """No raw payload anywhere in ``page``; its escaped form present when the page shows a field."""
    assert RAW not in page, where
    assert EVIL not in page, where
    if shows:
        assert ESCAPED in page, where


async def test_every_page_escapes_every_field(make_bot, make_user) -> None:
    bot = await make_bot(**_evil_overrides())
    r = await bot.post_ticket(ticket_body(
        NUMBER, unit="YLK", title="标题" + EVIL, content="诉求" + EVIL, address="事发" + EVIL,
        tags=["涉稳", "标签" + EVIL], category="类别" + EVIL, channel="渠道" + EVIL,
        citizen={"name": "来电人" + EVIL, "phone": "13812341234", "address": "住址" + EVIL}))
    assert r.status == 201, await r.text()
    office, handler, leader = make_user(bot), make_user(bot), make_user(bot)
    for user, name in ((office, "王办公"), (handler, HANDLER), (leader, "李科长")):
        assert (await user.login(name)).status == 302
    mention = f"@{BOT} "
    await handler.say("g:ylk", mention + "签收 0001")
    await settle(bot)
    await handler.say("g:ylk", mention + "联系 0001 已电话联系" + EVIL)
    await settle(bot)
    await handler.say("g:ylk", mention + "答复 0001 实际解决。11月23日10时与来电人电话沟通，"
                      "已恢复助餐服务" + EVIL + "，来电人表示接受。")
    await settle(bot)
    card = next(i for i in await leader.history("g:ylk") if i["title"].startswith("答复待审核"))
    approve = next(a for a in card["actions"] if a["command"] == "同意")
    assert (await leader.click("g:ylk", card["id"], approve, note="意见" + EVIL)).status == 202
    await settle(bot)
    async with bot.ctx.sessions() as s:
        ticket = (await s.execute(select(Ticket))).scalar_one()
    assert ticket.state == "answered"

    base = f"/console/tickets/12345/{NUMBER}"
    pages = {
        "chat": await handler.page("/console?chat=g:ylk"),
        "list": await office.page("/console/tickets"),
        "list filtered": await office.page("/console/tickets?unit=YLK"),
        "ticket": await office.page(base),
        "ticket (handler)": await handler.page(base),
        "reports": await office.page("/console/reports?month=2026-11"),
        **{f"form {key}": await office.page(f"{base}/forms/{key}") for key in ("lichuan", "songjiang", "signoff")},
    }
    for where, page in pages.items():
        assert_escaped(page, where)
    ticket_page = pages["ticket"]
    for field in ("标题", "诉求", "事发", "标签", "类别", "渠道", "来电人", "住址", "已恢复助餐服务", "意见",
                  "已电话联系", "养老"):
        assert field + ESCAPED in ticket_page, field
    assert f'<span class="tag ">标签{ESCAPED}</span>' in ticket_page
    assert HANDLER not in ticket_page and "张" + ESCAPED in ticket_page
    assert "助手" + ESCAPED in pages["chat"] and "养老" + ESCAPED + "群" in pages["chat"]

    # Chat messages reach the browser as JSON, drawn by the console's script with text nodes only.
    said = [i["text"] for i in await handler.history("g:ylk")]
    assert any("已电话联系" + EVIL in t for t in said)
    script = _console_script()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "outerHTML" not in script

    # Query parameters echoed into the login form and the filter form.
    visitor = make_user(bot)
    login = await (await visitor.get("/console/login", params={"next": "/console?x=" + EVIL})).text()
    assert_escaped(login, "login picker")
    assert "张" + ESCAPED in login
    filtered = await office.page("/console/tickets?" + urlencode({"tag": EVIL, "state": EVIL}))
    assert_escaped(filtered, "tag filter", shows=False)

    # The citizen's page shows the approved answer, escaped.
    citizen = await bot.client.get(f"/c/{citizen_token(bot.ctx, ticket.id, ticket.round)}")
    assert citizen.status == 200
    assert_escaped(await citizen.text(), "citizen page")


async def test_login_form_and_link_page_escape(make_bot, make_user) -> None:
    from web.console.auth import one_time_link

    overrides = _evil_overrides()
    overrides["platforms"]["console"]["require_login"] = True
    bot = await make_bot(**overrides)
    visitor = make_user(bot)
    login = await (await visitor.get("/console/login", params={"next": "/console?x=" + EVIL})).text()
    assert_escaped(login, "login form")
    link = one_time_link(bot.ctx.config, HANDLER, clock=bot.clock)
    page = await (await visitor.get(link[link.index("/console"):])).text()
    assert_escaped(page, "one-time link page")
    assert "以 <b>张" + ESCAPED + "</b> 的身份登录" in page
