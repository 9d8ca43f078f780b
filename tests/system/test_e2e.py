"""One ticket's story per platform, through the real app, the real inbox and sender, and a fake
platform on a real socket: intake → assignment card in the group → 签收 by @mention → 答复 →
同意 by card click → the card updated → the group notice. Everything is counted at the fake."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ticket_body
from tests.fakes.dingtalk_server import FakeDingTalk, card_click, robot_message, stream_frame
from tests.fakes.feishu_server import (
    card_action_event,
    mention,
    message_event,
)
from tests.fakes.wecom_server import FakeWeCom, aibot_click, aibot_text
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


async def _intake(bot: Any) -> None:
    r = await bot.post_ticket(ticket_body(NUMBER, unit="YLK"))
    assert r.status == 201, await r.text()


# -- WeCom: AI bot over the long connection ---------------------------------------------------

async def test_wecom_story_over_long_connection(make_bot: Any, clock: Any) -> None:
    fake = FakeWeCom(clock=clock)
    async with on_fake(make_bot, fake, lambda url: org("wecom", wecom_longconn_config(url))) as (bot, sender, _):
        assert await wecom_connection(bot).wait_ready(10.0)
        ylk = CHATS["wecom"]["YLK"]

        await _intake(bot)
        await sender.drain()
        cards = [m for m in fake.aibot_messages if m["msgtype"] == "template_card"]
        assert [c["chatid"] for c in cards] == [ylk]
        assert [b["text"] for b in cards[0]["template_card"]["button_list"]] == ["签收"]

        await fake.push(aibot_text(f"@{BOT_NAME}\u2005签收 0001", userid=IDS["wecom"]["张承办"],
                                   chatid=ylk, msgid="m-accept"))
        await settle(bot, sender, 1)
        assert any("张承办 已签收" in m.get("markdown", {}).get("content", "")
                   for m in fake.aibot_messages)

        await fake.push(aibot_text(f"@{BOT_NAME} 答复 0001 {GOOD_REPLY}",
                                   userid=IDS["wecom"]["张承办"], chatid=ylk, msgid="m-reply"))
        await settle(bot, sender, 2)
        review = [m for m in fake.aibot_messages if m["msgtype"] == "template_card"][1:]
        assert len(review) == 1
        card = review[0]["template_card"]
        agree = next(b for b in card["button_list"] if b["text"] == "同意")

        sent_before = len(fake.aibot_messages)
        await fake.push(aibot_click(agree["key"], card["task_id"], userid=IDS["wecom"]["李科长"],
                                    chatid=ylk, msgid="m-click"))
        await settle(bot, sender, 3)
        [update] = fake.aibot_updates
        assert update["template_card"]["task_id"] == card["task_id"]
        assert "李科长 已同意" in update["template_card"]["sub_title_text"]
        notices = [m["markdown"]["content"] for m in fake.aibot_messages[sent_before:]
                   if m["msgtype"] == "markdown"]
        assert sum(f"工单 {NUMBER} 已审核通过并答复来电人。" in n for n in notices) == 1
        assert {m["chatid"] for m in fake.aibot_messages} <= {ylk, CHATS["wecom"]["BGS"]}


# -- DingTalk: Stream mode, interactive cards --------------------------------------------------

async def test_dingtalk_story_over_stream(make_bot: Any, clock: Any) -> None:
    fake = FakeDingTalk(clock=clock)
    async with on_fake(make_bot, fake, lambda url: org("dingtalk", dingtalk_stream_config(fake, url))) as (
            bot, sender, _):
        await fake.wait_for(lambda: fake.live)
        ylk = CHATS["dingtalk"]["YLK"]

        await _intake(bot)
        await sender.drain()
        [(assign_id, assign)] = fake.cards.items()
        assert assign["space_id"] == ylk
        assert [b["text"] for b in json.loads(assign["params"]["buttons"])] == ["签收"]

        await fake.push(stream_frame("/v1.0/im/bot/messages/get", robot_message(
            text=" 签收 0001", msg_id="d-accept", conversation_id=ylk,
            sender_staff_id=IDS["dingtalk"]["张承办"], sender_nick="张承办")))
        await settle(bot, sender, 1)
        assert any("张承办 已签收" in m["param"].get("text", m["param"].get("content", ""))
                   for m in fake.group_messages)

        await fake.push(stream_frame("/v1.0/im/bot/messages/get", robot_message(
            text=f" 答复 0001 {GOOD_REPLY}", msg_id="d-reply", conversation_id=ylk,
            sender_staff_id=IDS["dingtalk"]["张承办"], sender_nick="张承办")))
        await settle(bot, sender, 2)
        review_id, review = list(fake.cards.items())[1]
        assert len(fake.cards) == 2
        agree = next(b for b in json.loads(review["params"]["buttons"]) if b["text"] == "同意")

        notices_before = len(fake.group_messages)
        click_id = "click-1"
        await fake.push(stream_frame("/v1.0/card/instances/callback", card_click(
            out_track_id=review_id, user_id=IDS["dingtalk"]["李科长"], value=agree["value"],
            space_type="IM_GROUP", space_id=ylk), message_id=click_id))
        await fake.wait_for(lambda: fake.ack_for(click_id) is not None)
        await settle(bot, sender, 3)
        [update] = fake.card_updates
        assert update["outTrackId"] == review_id
        assert "李科长 已同意" in fake.cards[review_id]["params"]["content"]
        assert json.loads(fake.cards[review_id]["params"]["buttons"]) == []
        assert fake.cards[assign_id]["params"]["buttons"] != "[]"  # the other card untouched
        notices = [m["param"].get("text", m["param"].get("content", ""))
                   for m in fake.group_messages[notices_before:]]
        assert sum(f"工单 {NUMBER} 已审核通过并答复来电人。" in n for n in notices) == 1
        assert {m["chat_id"] for m in fake.group_messages} == {ylk}


# -- Feishu: webhook mode with an Encrypt Key ---------------------------------------------------

def _card_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for el in message["content"]["elements"] if el.get("tag") == "action"
            for b in el["actions"]]


async def test_feishu_story_over_webhook(make_bot: Any, clock: Any) -> None:
    async with feishu_webhook_bot(make_bot, clock) as (fake, bot, sender):
        ylk = CHATS["feishu"]["YLK"]
        at_bot = [mention("@_user_1", fake.bot_open_id, BOT_NAME)]

        await _intake(bot)
        await sender.drain()
        cards = [m for m in fake.messages if m["msg_type"] == "interactive"]
        assert [c["receive_id"] for c in cards] == [ylk]
        assert [b["text"]["content"] for b in _card_buttons(cards[0])] == ["签收"]

        await feishu_post(bot, message_event("@_user_1 签收 0001", chat_id=ylk, mentions=at_bot,
                                              sender=IDS["feishu"]["张承办"]), clock)
        await settle(bot, sender, 1)
        assert any("张承办 已签收" in json.dumps(m["content"], ensure_ascii=False) for m in fake.messages)

        await feishu_post(bot, message_event(f"@_user_1 答复 0001 {GOOD_REPLY}", chat_id=ylk,
                                              mentions=at_bot, sender=IDS["feishu"]["张承办"]), clock)
        await settle(bot, sender, 2)
        cards = [m for m in fake.messages if m["msg_type"] == "interactive"]
        review = next(c for c in cards if any(b["text"]["content"] == "同意" for b in _card_buttons(c)))
        agree = next(b for b in _card_buttons(review) if b["text"]["content"] == "同意")

        sent_before = len(fake.messages)
        await feishu_post(bot, card_action_event(agree["value"], operator=IDS["feishu"]["李科长"],
                                                  chat_id=ylk, message_id=review["message_id"]), clock)
        await settle(bot, sender, 3)
        [patch] = fake.patches
        assert patch["message_id"] == review["message_id"]
        patched = json.dumps(patch["card"], ensure_ascii=False)
        assert "李科长 已同意" in patched and "同意" not in [b["text"]["content"] for b in
                                                       _card_buttons({"content": patch["card"]})]
        notices = [json.dumps(m["content"], ensure_ascii=False) for m in fake.messages[sent_before:]]
        assert sum(f"工单 {NUMBER} 已审核通过并答复来电人。" in n for n in notices) == 1
        assert {m["receive_id"] for m in fake.messages} == {ylk}
