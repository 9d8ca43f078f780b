"""Internal codes never reach a person: a ticket's whole life, then every surface a person reads.

The chat answers (查询, 待办, cards, notices), the console (chat history, dashboard, ticket page)
and the printed forms (.html and .docx) are scanned for every code of the labels tables; the
JSON read API is for machines and keeps the codes (which also shows the scan finds them).
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

from docx import Document
from sqlalchemy import select

from bot.labels import all_tables, rule_label
from store.models import OutboxMessage
from tests.bot.sms_rig import NUMBER, rig
from tests.conftest import ticket_body
from tests.handlers.test_workflow import GOOD_REPLY
from tests.web.console.conftest import console_overrides, settle

CODES = sorted({code for table in all_tables().values() for code in table}, key=len, reverse=True)
_CODE = re.compile("|".join(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])" for c in CODES))


class _Visible(HTMLParser):
    """The text a person sees on a page: element text outside <script>/<style>."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    """The visible text of ``html``."""
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)


def docx_text(data: bytes) -> str:
    """Every paragraph and table cell of a Word file."""
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def codes_in(text: str) -> set[str]:
    """The internal codes found in ``text``."""
    return {m.group(0) for m in _CODE.finditer(text)}


def chat_texts(rows: list[OutboxMessage]) -> list[str]:
    """What people read of the bot's chat messages: text, title and button labels."""
    out = []
    for r in rows:
        if r.channel != "chat":
            continue
        p = r.payload
        out.append("\n".join([p.get("text") or "", p.get("title") or "",
                              *[a.get("label", "") for a in p.get("actions") or []]]))
    return out


async def lived_ticket(make_bot: Any, aiohttp_server: Any, clock: Any) -> Any:
    """A ticket that went through dispatch, accept, contact, progress, reply, reject, reply,
    approve, SMS (delivered) and feedback, with the console on."""
    r = await rig(make_bot, aiohttp_server, clock, "log", **console_overrides())
    body = ticket_body(NUMBER, tags=["涉稳"])  # no unit: the office dispatches it
    resp = await r.bot.post_ticket(body)
    assert resp.status == 201, await resp.text()
    chat = r.chat
    await chat.say("王办公", f"转办 {NUMBER} YLK", chat="bgs")
    await chat.say("张承办", f"签收 {NUMBER}")
    await chat.say("张承办", f"联系 {NUMBER} 已电话联系来电人，约定明日上门")
    clock.advance(hours=2)
    await chat.say("张承办", f"进展 {NUMBER} 已协调社区，明日现场核实")
    await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}")
    await chat.say("李科长", f"驳回 {NUMBER} 请补充回访安排")
    await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}并于11月26日回访。")
    await chat.say("李科长", f"同意 {NUMBER}")
    await r.drain()
    [sent] = r.accepted()
    assert (await r.push(r.receipt(sent))).status == 200
    assert (await r.push(r.reply("满意"))).status == 200
    await settle(r.bot)
    t = await r.ticket()
    assert t.state == "archived" and t.feedback == "满意"
    actions = [e.action for e in await chat.audit(NUMBER)]
    for step in ("dispatch", "accept", "first_contact", "progress", "reply", "reject_reply",
                 "approve_reply", "sms_sent", "sms_receipt", "feedback_satisfied"):
        assert step in actions, (step, actions)
    return r


async def test_no_internal_code_reaches_a_person(make_bot, aiohttp_server, clock, make_user) -> None:
    r = await lived_ticket(make_bot, aiohttp_server, clock)
    chat = r.chat
    surfaces: dict[str, str] = {}

    # a second, open ticket, so that 待办 and the dashboard list an open state too
    assert (await r.bot.post_ticket(ticket_body("202611230002", unit="YLK"))).status == 201
    await chat.new_rows()
    # chat answers: 查询 in the group (masked) and in the office's direct chat, 待办
    for who, text, direct in (("张承办", f"查询 {NUMBER}", False), ("王办公", f"查询 {NUMBER}", True),
                              ("张承办", "待办", False), ("王办公", "待办", True)):
        rows = await chat.say(who, text, direct=direct, chat="ylk")
        surfaces[f"chat {who} {text}"] = "\n".join(chat_texts(rows))
    query = surfaces[f"chat 王办公 查询 {NUMBER}"]
    assert "已归档" in query and "（规则：松江·" in query and "登记满意" in query, query
    assert "短信：答复已送达" in query, query
    assert "0002 已派单（待签收）" in surfaces["chat 张承办 待办"]
    # every other message the bot sent in the ticket's life: assignment and review cards, notices…
    async with r.ctx.sessions() as s:
        everything = list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
    for i, text in enumerate(chat_texts(everything)):
        surfaces[f"chat message #{i}"] = text

    # the console, as the office
    office = make_user(r.bot)
    assert (await office.login("王办公")).status == 302
    base = f"/console/tickets/12345/{NUMBER}"
    for path in ("/console", "/console/tickets", "/console/tickets?state=archived", base,
                 *(f"{base}/forms/{f}" for f in ("lichuan", "songjiang", "signoff"))):
        surfaces[path] = visible(await office.page(path))
    for key in ("g:ylk", "g:bgs", "d:王办公"):
        for item in await office.history(key):
            surfaces[f"history {key} {item['id']}"] = "\n".join(
                [item.get("text") or "", item.get("title") or "", item.get("update") or "",
                 *[a.get("label", "") for a in item.get("actions") or []]])
    for f in ("lichuan", "songjiang", "signoff"):
        resp = await office.get(f"{base}/forms/{f}.docx")
        assert resp.status == 200
        surfaces[f"{f}.docx"] = docx_text(await resp.read())

    page = surfaces[base]
    rule = rule_label((await r.ticket()).rule, r.ctx.service.rulebook.rules)
    assert rule.startswith("松江·") and rule in page, rule
    for shown in ("已归档", "派单", "签收", "驳回答复", "审核通过答复", "短信已发出", "已送达", "登记满意"):
        assert shown in page, shown
    assert "规则" in surfaces["/console/tickets"] and rule in surfaces["/console/tickets"]

    leaks = {name: sorted(codes_in(text)) for name, text in surfaces.items() if codes_in(text)}
    assert not leaks, leaks
    assert len(surfaces) > 20

    # The machines' JSON keeps the codes, and the scan does see them there.
    api = await (await r.bot.get(f"/api/v1/tickets/12345/{NUMBER}")).text()
    assert {"archived", "approve_reply", "delivered"} <= codes_in(api)


def test_every_audit_action_and_outbox_kind_in_the_code_has_a_label() -> None:
    """A new audit action or message kind without a Chinese label fails here, not in front of a person."""
    from pathlib import Path

    from bot.labels import AUDIT_LABELS, OUTBOX_KIND_LABELS, SMS_KIND_LABELS

    root = Path(__file__).resolve().parents[3]
    source = "\n".join(p.read_text(encoding="utf-8") for folder in ("bot", "handlers", "scheduler", "adapters", "web")
                       for p in (root / folder).rglob("*.py"))
    actions = set(re.findall(r'\.audit\(\s*s,\s*[^,]+,\s*[^,]+,\s*"([a-z_]+)"', source))
    assert {"register", "dispatch", "sms_sent", "citizen_reply"} <= actions  # the pattern finds them
    assert actions - set(AUDIT_LABELS) == set()
    kinds = set(re.findall(r'\bkind="([a-z_]+)"', source))
    kinds |= {f"sms_{k}" for k in SMS_KIND_LABELS}
    assert {"assignment", "review", "dead_letter_alert"} <= kinds
    assert kinds - set(OUTBOX_KIND_LABELS) == set()


def test_rule_and_duration_labels() -> None:
    from bot.deadlines import Rule
    from bot.labels import duration_label, error_label

    assert rule_label("songjiang-普通") == "松江·普通件 7个工作日"
    assert rule_label("songjiang-紧急") == "松江·紧急件 当日办结（16:00后次日）"
    assert rule_label("pingdingshan-A") == "平顶山·A类事项 24小时"
    assert rule_label("xinfang-办理") == "信访·办理 60个自然日"
    # a config rule of the office's own, and a preset rule the config redefines
    rules = [Rule(name="本局-咨询件", deadline="2wd"), Rule(name="songjiang-普通", deadline="5wd")]
    assert rule_label("本局-咨询件", rules) == "本局-咨询件 2个工作日"
    assert rule_label("songjiang-普通", rules) == "松江·普通件 5个工作日"
    assert rule_label(None) == "—" and duration_label(None) == ""
    assert error_label("template_missing") == "未配置短信模板"
    assert error_label("isv.MOBILE_NUMBER_ILLEGAL") == "错误码 isv.MOBILE_NUMBER_ILLEGAL"
