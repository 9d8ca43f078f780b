"""The reply classifier on a table of replies as citizens write them (issue 16 §3: "不满意，敬老院
根本没有改" is unsatisfied; "还没解决" / "没人联系我" too; "满意，谢谢" satisfied; negation and mixed
replies handled; a reply that stays unclear goes to the office)."""

from __future__ import annotations

import pytest

from bot.reply_classifier import Reading, classify

S, U, X = Reading.SATISFIED, Reading.UNSATISFIED, Reading.UNCLEAR

TABLE: tuple[tuple[str, Reading], ...] = (
    # the template's codes
    ("1", S), ("2", U), ("１", S), ("２。", U), ("1满意", S), ("2 不满意", U), ("回复1", S),
    # plain verdicts
    ("满意", S), ("满意，谢谢", S), ("非常满意！", S), ("很满意，辛苦了", S), ("挺满意的", S),
    ("不满意", U), ("很不满意", U), ("非常不满意!!", U), ("不满意，敬老院根本没有改", U),
    # not done / nobody came
    ("还没解决", U), ("没人联系我", U), ("问题根本没有解决", U), ("至今没有人来看过", U),
    ("到现在还没修好", U), ("路灯还是不亮", U), ("还是老样子，一点变化都没有", U),
    ("没有任何人跟我联系", U), ("你们就是在敷衍", U), ("答复内容不属实，根本没整改", U),
    ("噪音依旧，晚上照样施工", U), ("一直没人处理，我要继续投诉", U), ("还在漏水", U), ("服务站还是没开门", U),
    ("水管并未修复", U), ("社区推诿，说不归他们管", U), ("没用，白打电话了", U),
    # negation of satisfaction, double negation
    ("不是很满意", U), ("不太满意", U), ("不怎么满意", U), ("谈不上满意", U), ("一点也不满意", U),
    ("没有不满意", S), ("并非不满意，只是想再问问", S), ("也没什么不满的", S),
    # solved, fixed, thanks
    ("问题已经解决了，谢谢", S), ("已解决", S), ("路灯修好了，感谢", S), ("谢谢你们", S),
    ("辛苦了，处理得很及时", S), ("好的，谢谢", S), ("工作人员态度很好", S), ("可以", S),
    ("认可处理结果", S), ("点赞！", S),
    # mixed: the part after the contrast decides
    ("满意，但是路灯还是不亮", U), ("态度挺好，但问题没解决", U), ("虽然慢了点，但总算解决了，满意", S),
    ("过程满意，不过结果不满意", U), ("一开始没人管，不过现在已经修好了", S),
    ("态度很好，可是垃圾还是没人清", U),
    # unclear: questions, acknowledgements, off-topic, half-hearted
    ("收到", X), ("什么时候来修？", X), ("你们是哪个单位", X), ("还行吧", X), ("一般般", X),
    ("嗯", X), ("？？", X), ("我在外地，下周回来再看", X), ("请问工单号是多少", X), ("", X),
    ("满意不满意都一样", X), ("12345", X),
)


def test_the_table_is_big_enough_and_covers_every_reading() -> None:
    assert len(TABLE) >= 60
    assert {r for _, r in TABLE} == set(Reading)
    assert len({t for t, _ in TABLE}) == len(TABLE)  # no reply listed twice


@pytest.mark.parametrize(("reply", "expected"), TABLE)
def test_reply(reply: str, expected: Reading) -> None:
    assert classify(reply) is expected
