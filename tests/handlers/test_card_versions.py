"""A decision applies to what the decider saw: review-card buttons are bound to the request and
version they show, and a typed 同意 / 驳回 marks that request's open cards as handled on every
platform that can update a card (DingTalk interactive cards, Feishu app messages; a WeCom AI
bot's card only within seconds of a click, so it is left alone)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.sender import Sender
from store.models import OutboxMessage
from tests.conftest import ticket_body
from tests.fakes.dingtalk_server import FakeDingTalk, robot_message, stream_frame
from tests.fakes.feishu_server import mention, message_event
from tests.fakes.wecom_server import FakeWeCom, aibot_text
from tests.handlers.chat import Chat, only_answer
from tests.handlers.test_workflow import GOOD_REPLY
from tests.system.world import (
    BOT_NAME,
    CHATS,
    IDS,
    dingtalk_stream_config,
    feishu_post,
    feishu_webhook_bot,
    on_fake,
    org,
    settle,
    wecom_connection,
    wecom_longconn_config,
)

NUMBER = "202611230001"
SECOND_REPLY = GOOD_REPLY.replace("来电人表示接受", "来电人表示接受，已补充办理依据")


async def test_a_click_on_an_older_answer_is_refused(make_bot) -> None:
    # The reported bug: 驳回 v1 by typing, the handler sends v2, a click on v1's live card
    # approved v2, which the leader never saw.
    bot = await make_bot()
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    await chat.say("张承办", f"签收 {NUMBER}")
    [v1] = [r for r in await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}") if r.kind == "review"]
    assert "第1版" in v1.payload["title"]
    await chat.say("李科长", f"驳回 {NUMBER} 请补充办理依据")
    [v2] = [r for r in await chat.say("张承办", f"答复 {NUMBER} {SECOND_REPLY}") if r.kind == "review"]
    assert "第2版" in v2.payload["title"]

    refused = only_answer(await chat.click("李科长", v1, "同意"))
    assert "第1版" in refused and "当前待审核的是答复第2版" in refused
    assert (await chat.ticket(NUMBER)).state == "reply_pending"
    refused = only_answer(await chat.click("李科长", v1, "驳回", note="不行"))
    assert "第2版" in refused and (await chat.ticket(NUMBER)).state == "reply_pending"

    assert "已同意" in only_answer(await chat.click("李科长", v2, "同意"))
    t = await chat.ticket(NUMBER)
    assert t.state == "answered"
    async with bot.ctx.sessions() as s:
        sms = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "sms_answer"))).scalar_one()
    assert sms.payload["text"] == SECOND_REPLY


async def test_a_click_after_a_typed_decision_says_it_was_handled(make_bot) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    await chat.say("张承办", f"签收 {NUMBER}")
    [card] = [r for r in await chat.say("张承办", f"答复 {NUMBER} {GOOD_REPLY}") if r.kind == "review"]
    await chat.say("李科长", f"同意 {NUMBER}")
    # the card was not sent yet: it goes out without buttons, marked handled
    async with bot.ctx.sessions() as s:
        row = await s.get(OutboxMessage, card.id)
    assert row.payload["actions"] == [] and row.payload["text"].startswith("【已处理】李科长 已同意")
    refused = only_answer(await chat.click("李科长", card, "同意"))
    assert "已处理" in refused and (await chat.ticket(NUMBER)).state == "answered"


async def _to_review(bot: Any, sender: Sender, say: Any) -> None:
    r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    assert r.status == 201, await r.text()
    await sender.drain()
    await say("张承办", f"签收 {NUMBER}", 1)
    await say("张承办", f"答复 {NUMBER} {GOOD_REPLY}", 2)


async def test_typed_approval_updates_the_dingtalk_card(make_bot: Any, clock: Any) -> None:
    fake = FakeDingTalk(clock=clock)
    async with on_fake(make_bot, fake, lambda url: org("dingtalk", dingtalk_stream_config(fake, url))) as (
            bot, sender, _):
        await fake.wait_for(lambda: fake.live)
        ylk = CHATS["dingtalk"]["YLK"]

        async def say(who: str, text: str, n: int) -> None:
            await fake.push(stream_frame("/v1.0/im/bot/messages/get", robot_message(
                text=f" {text}", msg_id=f"d-{n}", conversation_id=ylk,
                sender_staff_id=IDS["dingtalk"][who], sender_nick=who)))
            await settle(bot, sender, n)

        await _to_review(bot, sender, say)
        review_id, review = list(fake.cards.items())[1]
        assert [b["text"] for b in json.loads(review["params"]["buttons"])] == ["同意", "驳回"]
        await say("李科长", f"同意 {NUMBER}", 3)
        [update] = fake.card_updates
        assert update["outTrackId"] == review_id
        assert "【已处理】李科长 已同意" in fake.cards[review_id]["params"]["content"]
        assert json.loads(fake.cards[review_id]["params"]["buttons"]) == []


async def test_typed_rejection_updates_the_feishu_card(make_bot: Any, clock: Any) -> None:
    async with feishu_webhook_bot(make_bot, clock) as (fake, bot, sender):
        ylk = CHATS["feishu"]["YLK"]
        at_bot = [mention("@_user_1", fake.bot_open_id, BOT_NAME)]

        async def say(who: str, text: str, n: int) -> None:
            await feishu_post(bot, message_event(f"@_user_1 {text}", chat_id=ylk, mentions=at_bot,
                                                 sender=IDS["feishu"][who]), clock)
            await settle(bot, sender, n)

        await _to_review(bot, sender, say)
        review = next(m for m in fake.messages if m["msg_type"] == "interactive"
                      and "同意" in json.dumps(m["content"], ensure_ascii=False))
        await say("李科长", f"驳回 {NUMBER} 请补充沟通时间", 3)
        [patch] = fake.patches
        assert patch["message_id"] == review["message_id"]
        patched = json.dumps(patch["card"], ensure_ascii=False)
        assert "【已处理】李科长 已驳回" in patched and '"tag": "action"' not in patched


async def test_a_wecom_ai_bot_card_is_left_alone(make_bot: Any, clock: Any) -> None:
    fake = FakeWeCom(clock=clock)
    async with on_fake(make_bot, fake, lambda url: org("wecom", wecom_longconn_config(url))) as (bot, sender, _):
        assert await wecom_connection(bot).wait_ready(10.0)
        ylk = CHATS["wecom"]["YLK"]

        async def say(who: str, text: str, n: int) -> None:
            await fake.push(aibot_text(f"@{BOT_NAME} {text}", userid=IDS["wecom"][who], chatid=ylk,
                                       msgid=f"w-{n}"))
            await settle(bot, sender, n)

        await _to_review(bot, sender, say)
        await say("李科长", f"同意 {NUMBER}", 3)
        assert fake.aibot_updates == []
        async with bot.ctx.sessions() as s:
            rows = list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
        # the AI bot's card has no message id to update later: no update is queued, none fails
        [review] = [r for r in rows if r.kind == "review"]
        assert review.state == "sent" and not review.provider_message_id
        assert [r for r in rows if r.kind == "card_update" or r.state == "dead"] == []


async def test_an_extension_card_decides_only_its_own_step(make_bot) -> None:
    rules = [{"name": "领导再办公室", "deadline": "7wd", "extension_chain": ["leader", "office"]}]
    bot = await make_bot(procedure={"preset": "songjiang", "rules": rules})
    chat = Chat(bot)
    await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    await chat.say("张承办", f"签收 {NUMBER}")
    old = (await chat.ticket(NUMBER)).deadline
    [leader_card] = [r for r in await chat.say("张承办", f"延期 {NUMBER} 5天 需协调") if r.kind == "review"]
    rows = await chat.click("李科长", leader_card, "同意")
    assert "已转办公室" in only_answer(rows)
    [office_card] = [r for r in rows if r.kind == "review"]
    assert office_card.destination["chat_id"] == "bgs"
    # the leader's card still carries an unused 驳回: it no longer decides anything
    refused = only_answer(await chat.click("王办公", leader_card, "驳回", note="不同意", chat="bgs"))
    assert "审批步骤已处理" in refused
    assert (await chat.ticket(NUMBER)).deadline == old
    assert "已批准" in only_answer(await chat.click("王办公", office_card, "同意", chat="bgs"))
    assert (await chat.ticket(NUMBER)).deadline > old
