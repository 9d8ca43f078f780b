"""What a citizen's free-text SMS reply to an answer or a 回访 SMS means: satisfied, unsatisfied
or unclear.

People do not answer "1" or "2"; they write "不满意，敬老院根本没有改", "还没解决", "满意，谢谢",
"不是很满意", "没有不满意". The reading, in order:

1. The reply codes of the SMS template: a reply that starts with ``1`` / ``2`` (not followed by
   another digit) is 满意 / 不满意.
2. Cues are found left to right, longest first, each span read once, so "不满意" is one negative
   cue and never also a "满意": double negation ("没有不满意", "并非不满意") is positive; negated
   satisfaction ("不满意", "不是很满意", "不太满意") and "not done" phrases ("还没解决", "没人联系我",
   "根本没有改", "还是老样子") are strong negatives; "满意", "解决了", "修好了" strong positives;
   thanks and praise of the service ("谢谢", "辛苦了", "态度很好") weak positives.
3. Verdict: strong cues of one side only decide. Strong cues on both sides ("满意，但是路灯还是不亮")
   are read after the last contrast word (但/但是/可是/不过/就是/只是): the side whose strong cue
   comes there wins; without one the reply is unclear. With no strong cue, weak praise alone is
   satisfied; anything else (a question, "收到", "还行", an address) is unclear.

An unclear reply changes nothing on the ticket: it is shown to the office, who records the verdict
after a phone 回访 (``回访`` command, ``handlers/followup.py``).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

__all__ = ["Reading", "classify"]


class Reading(StrEnum):
    """The three readings of a reply."""

    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"
    UNCLEAR = "unclear"


_NOISE = re.compile(r"[\s。．.，,、！!？?~～…：:；;\"'“”‘’（）()【】\[\]]+")
_CODE = re.compile(r"^(?:回复)?([12])(?![0-9])")
_CONTRAST = re.compile(r"但是|但|可是|不过|就是|只是|然而")

_NEG = r"(?:不|没|没有|未|并未|并没有|尚未|还没|还没有|还未|根本没|根本没有|一直没|一直没有|仍没|仍未|依然没|都没|也没|从没)"
_POS_DOUBLE = r"(?:没有|没|并没有|不是|并非|无|没什么|没啥)(?:什么)?不满意?"
_NEG_SATISFIED = (r"(?:不|没|没有|未|难以|谈不上|算不上|一点也不|一点都不|很不|非常不|十分不|极不)"
                  r"(?:是|太|怎么|是很|是太|很|大|够|算|十分|非常|咋)?满意|不满")
_NOT_DONE = (_NEG + r"(?:得到|被|能|有|给|帮)?(?:解决|处理|落实|整改|改|修|维修|修好|回复|答复|回音|联系|"
             r"来人|人来|人管|见人|见到人|动静|办|弄好|变化|效果|用)")

# (pattern, side, strength); the first matching alternative at a position wins, longest first.
_CUES: tuple[tuple[str, int, int], ...] = (
    (_POS_DOUBLE, +1, 2),
    (_NEG_SATISFIED, -1, 2),
    (_NOT_DONE, -1, 2),
    (r"没有?(?:任何)?人(?:跟|给|和|与|同)?我?(?:联系|打电话|来|管|理|处理|回|过问|上门)|没见人|"
     r"不见人|不理|推诿|推脱|扯皮|敷衍|糊弄|应付|踢皮球|不作为|不属实|弄虚作假|造假|胡说|瞎说|乱说|骗人|"
     r"假的|老样子|原样|还是没|仍然没|照旧|依旧|依然如此|还是一样|还是那样|问题还在|还在漏|还在响|还是不|仍然不|"
     r"越来越|更严重|差评|太差|很差|极差|垃圾|没用|无用|白搭|不行|不好|不靠谱|不负责|要投诉|继续投诉|"
     r"再投诉|重新处理|重办|不认可|不同意|不接受|拒绝", -1, 2),
    (r"非常满意|很满意|挺满意|满意|已经解决|已解决|解决了|解决好了|处理好了|已处理好|已经处理|修好了|"
     r"已修好|已修复|修复了|弄好了|搞定了|整改好了|已整改|恢复了|已恢复|好评|五星|点赞|认可|同意", +1, 2),
    (r"谢谢|感谢|多谢|辛苦|麻烦你们了|态度很好|态度好|服务好|很及时|及时|很好|挺好|不错|可以|好的|"
     r"好滴|嗯嗯|ok|OK|收到谢谢", +1, 1),
)
_SCAN = re.compile("|".join(f"({p})" for p, _, _ in _CUES))


def _cues(text: str) -> list[tuple[int, int, int]]:
    """``(position, side, strength)`` of each cue, left to right, each span read once."""
    found: list[tuple[int, int, int]] = []
    for m in _SCAN.finditer(text):
        group = next(i for i, g in enumerate(m.groups()) if g is not None)
        _, side, strength = _CUES[group]
        found.append((m.start(), side, strength))
    return found


def normalise(text: str) -> str:
    """NFKC, lower-case latin, punctuation and spaces removed."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def classify(text: str) -> Reading:
    """Read one reply (see the module docstring).

    >>> [classify(t).value for t in ("1", "不满意，敬老院根本没有改", "满意，谢谢", "没有不满意", "几点来？")]
    ['satisfied', 'unsatisfied', 'satisfied', 'satisfied', 'unclear']
    """
    word = normalise(text)
    if not word:
        return Reading.UNCLEAR
    code = _CODE.match(word)
    if code:
        return Reading.SATISFIED if code.group(1) == "1" else Reading.UNSATISFIED
    cues = _cues(word)
    strong = [(pos, side) for pos, side, strength in cues if strength == 2]
    sides = {side for _, side in strong}
    if sides == {+1}:
        return Reading.SATISFIED
    if sides == {-1}:
        return Reading.UNSATISFIED
    if sides:
        turns = [m.end() for m in _CONTRAST.finditer(word)]
        after = {side for pos, side in strong if turns and pos >= turns[-1]}
        if len(after) == 1:
            return Reading.SATISFIED if after == {+1} else Reading.UNSATISFIED
        return Reading.UNCLEAR
    if any(side > 0 for _, side, _ in cues):
        return Reading.SATISFIED
    return Reading.UNCLEAR
