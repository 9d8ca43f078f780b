"""Category and unit suggestion: trained from the store's dispatched tickets, shown on the office's
card of an unrouted ticket with a 「按建议派单」 button, dispatching by itself above the threshold,
and replaced only by a model at least as good on the newest tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.reading import service as reading
from bot.reading.cards import NO_MODEL, SUGGEST_COMMAND
from scheduler.reading import model_retrain
from store.models import TextModelRow
from tests.conftest import local, ticket_body
from tests.handlers.chat import Chat, only_answer

# Two kinds of matter, each handled by its own unit (the office's history).
ELDERLY = ["小区养老服务站长期关门，老人无法就餐", "社区老年食堂饭菜太贵，老人吃不起", "养老院护工态度差，老人受委屈",
           "居家养老上门服务没人来，老人生活不便", "老年助餐点停办了，独居老人吃饭难", "养老服务补贴迟迟不到账，老人着急"]
RELIEF = ["家里失业生活困难，申请低保一直没批", "低保金这个月没有发放，家庭生活困难", "大病医疗救助申请被退回，看病没钱",
          "临时救助金申请材料交了很久没消息", "残疾人困难家庭申请低保被拒", "特困供养金停发了，生活没有着落"]
CATEGORY = {"YLK": "养老服务", "SHJZK": "社会救助"}


async def fill_history(bot: Any, n: int, *, start: int = 0, swap: bool = False, day: int = 1) -> None:
    """``n`` dispatched tickets per unit, each from its own citizen (no 重复件); ``swap`` gives
    each matter the other unit (a history the office got wrong)."""
    for i in range(start, start + n):
        for unit, texts in (("YLK", ELDERLY), ("SHJZK", RELIEF)):
            target = ("SHJZK" if unit == "YLK" else "YLK") if swap else unit
            body = ticket_body(number=f"H{unit}{i:04d}", unit=target, category=CATEGORY[target],
                               content=f"{texts[i % len(texts)]}（第{i}次反映）",
                               received_at=(local(2026, 10, day, 9, 0) + timedelta(minutes=i)).isoformat(),
                               citizen={"name": "张三", "phone": f"139{i:04d}{len(unit):04d}"})
            assert (await bot.post_ticket(body)).status == 201


async def train(bot: Any) -> reading.TrainOutcome:
    outcome = await reading.train(bot.ctx.sessions, bot.clock.now(), bot.ctx.config.intelligence.min_history)
    bot.ctx.service.reader.forget()  # as the scheduled retrain does in the bot's own process
    return outcome


def new_ticket(number: str, content: str) -> dict[str, Any]:
    return ticket_body(number=number, content=content, citizen={"name": "李四", "phone": "13700001111"})


async def test_unrouted_ticket_gets_a_suggestion_card_and_one_tap_dispatch(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    await fill_history(bot, 12)
    outcome = await train(bot)
    assert outcome.version == 1 and not outcome.kept and outcome.n_train == 24
    await chat.new_rows()
    assert (await bot.post_ticket(new_ticket("202611230101", "老人反映养老服务站不开门，吃饭成问题"))).status == 201
    cards = [r for r in await chat.new_rows() if r.kind == "suggestion"]
    assert len(cards) == 1 and cards[0].destination["chat_id"] == "bgs"
    text = cards[0].payload["text"]
    assert "建议承办：养老服务科（置信度" in text and "建议类别：养老服务" in text
    assert text.count("HYLK") == 3  # the three most similar past tickets are elderly-care ones
    assert [a["label"] for a in cards[0].payload["actions"]] == [SUGGEST_COMMAND]
    assert (await chat.ticket("202611230101")).unit_code is None  # off by default: only a suggestion
    answer = only_answer(await chat.click("王办公", cards[0], SUGGEST_COMMAND, chat="bgs"))
    assert answer == "工单 202611230101 已按建议派至养老服务科。"
    assert (await chat.ticket("202611230101")).unit_code == "YLK"


async def test_auto_dispatch_above_the_threshold_says_so(make_bot: Any) -> None:
    bot = await make_bot(intelligence={"auto_dispatch_above": 0.5})
    chat = Chat(bot)
    await fill_history(bot, 12)
    await train(bot)
    await chat.new_rows()
    assert (await bot.post_ticket(new_ticket("202611230102", "申请低保很久了，家庭困难没人管"))).status == 201
    rows = await chat.new_rows()
    told = [r.payload["text"] for r in rows if r.kind == "suggestion"]
    assert len(told) == 1 and "已自动派至社会救助科" in told[0]
    assert (await chat.ticket("202611230102")).unit_code == "SHJZK"
    assert any(r.kind == "assignment" and r.destination["chat_id"] == "shjzk" for r in rows)


async def test_below_the_threshold_only_suggests(make_bot: Any) -> None:
    bot = await make_bot(intelligence={"auto_dispatch_above": 1.0})
    chat = Chat(bot)
    await fill_history(bot, 12)
    await train(bot)
    assert (await bot.post_ticket(new_ticket("202611230103", "申请低保很久了，家庭困难没人管"))).status == 201
    assert (await chat.ticket("202611230103")).unit_code is None
    events = [e for e in await chat.audit("202611230103") if e.action == "suggest"]
    assert len(events) == 1 and events[0].detail["unit"] == "SHJZK" and "auto" not in events[0].detail


async def test_empty_store_no_suggestion_said_politely(make_bot: Any) -> None:
    bot = await make_bot()
    chat = Chat(bot)
    outcome = await train(bot)
    assert outcome.version is None and "历史工单不足" in str(outcome)
    assert (await bot.post_ticket(new_ticket("202611230104", "养老服务站不开门"))).status == 201
    assert not [r for r in await chat.new_rows() if r.kind == "suggestion"]
    assert only_answer(await chat.say("王办公", f"{SUGGEST_COMMAND} 0104", chat="bgs")) == NO_MODEL
    assert (await chat.ticket("202611230104")).unit_code is None


async def test_retrain_keeps_the_model_that_scores_better_on_recent_tickets(make_bot: Any) -> None:
    bot = await make_bot()
    await fill_history(bot, 10)  # correct history
    first = await train(bot)
    assert first.version == 1
    # then a long stretch the office got wrong, and the newest tickets right again: a model
    # trained mostly on the wrong stretch loses to the first one on the newest tickets
    await fill_history(bot, 30, start=100, swap=True, day=10)
    await fill_history(bot, 10, start=200, day=20)
    second = await train(bot)
    assert second.kept and second.version == 1
    assert second.new_score is not None and second.old_score is not None and second.new_score < second.old_score
    await fill_history(bot, 60, start=300, day=25)  # a long right stretch: the new model wins
    third = await train(bot)
    assert not third.kept and third.version == 2
    async with bot.ctx.sessions() as s:
        versions = list((await s.execute(select(TextModelRow.version).order_by(TextModelRow.version))).scalars())
    assert versions == [1, 2]


async def test_the_nightly_retrain_reads_with_the_office_words(make_bot: Any) -> None:
    bot = await make_bot()
    await fill_history(bot, 10)
    assert await model_retrain(bot.ctx, bot.clock.now()) == 1
    async with bot.ctx.sessions() as s:
        model = await reading.load_latest(s)
    assert model is not None
    names = {u.name for u in bot.ctx.config.units}  # the units' names are the user dictionary's
    assert names and names <= set(model._word.tokenizer.words)


async def test_the_suggestion_card_renders_on_every_chat_platform(make_bot: Any) -> None:
    import json

    from adapters.cards import ButtonPayload
    from adapters.dingtalk.cards import card_params
    from adapters.feishu.cards import build_card
    from adapters.wecom.cards import button_card
    from bot.messages import OutgoingMessage

    bot = await make_bot()
    chat = Chat(bot)
    await fill_history(bot, 12)
    await train(bot)
    await chat.new_rows()
    assert (await bot.post_ticket(new_ticket("202611230105", "低保申请很久没批，生活困难"))).status == 201
    [row] = [r for r in await chat.new_rows() if r.kind == "suggestion"]
    message = OutgoingMessage.from_dict(row.payload)
    [wecom] = button_card(message, "task")["button_list"]
    [dingtalk] = json.loads(card_params(message)["buttons"])
    feishu = build_card(title=message.title, text=message.text, markdown=False, actions=message.actions)
    [lark] = feishu["elements"][-1]["actions"]
    assert wecom["text"] == SUGGEST_COMMAND and SUGGEST_COMMAND in json.dumps(dingtalk, ensure_ascii=False)
    for value in (wecom["key"], dingtalk["value"], lark["value"]):
        assert ButtonPayload.action_from(value) == {"cmd": SUGGEST_COMMAND, "ticket": "12345/202611230105",
                                                    "token": message.actions[0].token}
    # the decoded click dispatches as the console's click does
    answer = only_answer(await chat.say("王办公", "", chat="bgs", mentioned=False,
                                        action=ButtonPayload.action_from(wecom["key"]), message_id="card-x"))
    assert answer == "工单 202611230105 已按建议派至社会救助科。"


async def test_training_reads_only_the_newest_history_it_is_allowed(make_bot: Any) -> None:
    bot = await make_bot()
    await fill_history(bot, 12)  # 24 dispatched tickets, a minute apart per pair
    outcome = await reading.train(bot.ctx.sessions, bot.clock.now(), 2, max_history=10)
    assert outcome.version == 1 and outcome.n_train == 10
    async with bot.ctx.sessions() as s:
        model = await reading.load_latest(s)
        newest = [e.key for e in await reading.history(s)][-10:]
    assert model is not None and model.n_train == 10 and model.keys == newest
