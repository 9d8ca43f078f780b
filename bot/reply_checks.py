"""What an answer (答复) must contain, by procedure: the checks a rule names in ``reply_check``.

A check reads the folded copy of the answer and says whether it has the elements its procedure
asks for; the 答复 handler refuses an answer that fails the check of the ticket's rule, with the
check's template. Adding a check is one entry in :data:`REPLY_CHECKS` (and its name in
``bot.deadlines.ReplyCheckName``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

RESULT_CATEGORIES = ("实际解决", "解释说明", "参考备案", "不属实", "诉求过高", "其他")
"""The result categories of an answer (处理结果类别), as the hotline counts them."""

_CONTACT_WAYS = re.compile(r"电话|致电|联系|沟通|上门|面谈|走访|约谈|短信|当面|书面")
_CONTACT_TIME = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-/.年]\d{1,2}|\d{1,2}[:：]\d{2}|\d{1,2}\s*时"
                           r"|今[天日]|昨[天日]|上午|下午")


def result_category(folded: str) -> str | None:
    """The first result category the answer names, or None."""
    return next((c for c in RESULT_CATEGORIES if c in folded), None)


@dataclass(frozen=True)
class ReplyCheck:
    """One procedure's answer check."""

    passes: Callable[[str], bool]  # the folded answer → whether it has every element
    template: str  # the refusal: how to write it, with ``{number}``


def _songjiang(folded: str) -> bool:
    # 松江 (二)办结规范: 工单答复内容中一般包含以下要素 … 对不符合规范的，一律退回承办责任科室重办。
    return (result_category(folded) is not None and bool(_CONTACT_WAYS.search(folded))
            and bool(_CONTACT_TIME.search(folded)))


REPLY_CHECKS: dict[str, ReplyCheck] = {
    "songjiang": ReplyCheck(_songjiang, (
        "答复需符合办结规范（松江）：写明处理结果类别（实际解决/解释说明/参考备案/不属实/诉求过高/其他），"
        "以及何时、以何种方式与来电人沟通。可按模板填写：\n"
        "答复 {number} 实际解决。X月X日XX时，XX科工作人员与来电人电话沟通/面谈。经核实……，"
        "答复如下：……。来电人表示接受/不接受。")),
}
