"""What an answer (答复) must contain, by procedure: the checks a rule names in ``reply_check``.

A check is a list of elements (each a name people understand and a test on the folded copy of
the answer) and the template the procedure gives for writing it. The 答复 handler refuses an
answer that lacks an element of the check of the ticket's rule, naming what is missing and
showing the template; ``模板`` shows the template before one writes. Which check applies is a
rule field, so a preset chooses it by source and kind (松江: 12345 求助/投诉, 12345 咨询/建议,
信访; 962200 uses the 12345 one). Adding a check is one entry in :data:`REPLY_CHECKS` (and its
name in ``bot.deadlines.ReplyCheckName``).
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
_FACTS = re.compile(r"经查|经核实|核实|查明|属实|调查")
_BASIS = re.compile(r"根据|依据|按照|依照|规定|政策|本机关认为")
_VERDICT = re.compile(r"表示(?:接受|不接受|认可|理解|满意|不满意)|(?:不)?满意|(?:不)?认可|(?:不)?接受")
_RECONSIDER = re.compile(r"复查")
_WINDOW = re.compile(r"30\s*日|三十日|30\s*天")


def result_category(folded: str) -> str | None:
    """The first result category the answer names, or None."""
    return next((c for c in RESULT_CATEGORIES if c in folded), None)


@dataclass(frozen=True)
class Element:
    """One element an answer must have: its name in a refusal and the test on the folded text."""

    name: str
    found: Callable[[str], bool]


def _has(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda folded: bool(pattern.search(folded))


CATEGORY = Element("处理结果类别（实际解决/解释说明/参考备案/不属实/诉求过高/其他）",
                   lambda folded: result_category(folded) is not None)
CONTACT_WAY = Element("与来电人沟通的方式（电话/面谈/上门等）", _has(_CONTACT_WAYS))
CONTACT_TIME = Element("与来电人沟通的时间（如 11月24日10时）", _has(_CONTACT_TIME))
FACTS = Element("事实认定（经查/经核实……）", _has(_FACTS))
BASIS = Element("处置依据（根据……规定/政策）", _has(_BASIS))
VERDICT = Element("来电人是否满意/接受", _has(_VERDICT))
RECONSIDER = Element("复查告知（如不服本意见，可自收到本处理意见之日起30日内提出复查申请）",
                     lambda folded: bool(_RECONSIDER.search(folded) and _WINDOW.search(folded)))


@dataclass(frozen=True)
class ReplyCheck:
    """One procedure's answer check: its label, its elements and its template."""

    label: str
    elements: tuple[Element, ...]
    template: str  # how to write it, with ``{number}``

    def missing(self, folded: str) -> list[str]:
        """The names of the elements the folded answer lacks (empty: it passes)."""
        return [e.name for e in self.elements if not e.found(folded)]

    def passes(self, folded: str) -> bool:
        """Whether the folded answer has every element."""
        return not self.missing(folded)

    def refusal(self, number: str, folded: str) -> str:
        """The answer to a draft that lacks elements: what is missing, then the template."""
        return (f"答复需符合{self.label}，还缺少：{'；'.join(self.missing(folded))}。可按模板填写：\n"
                + self.template.format(number=number))


REPLY_CHECKS: dict[str, ReplyCheck] = {
    # 松江 (二)办结规范: “工单答复内容中一般包含以下要素：承办责任科室、承办人与市民沟通或处理事件的具体
    # 时间；承办责任科室的事实认定、处置依据、处置结果；承办人与市民沟通答复情况；市民对办理结果是否满意
    # 等。对不符合规范的，一律退回承办责任科室重办。” The template: 附件3 一、求助类或投诉类办结报告填报模板.
    "songjiang": ReplyCheck("办结规范（松江·求助/投诉类）", (CATEGORY, CONTACT_WAY, CONTACT_TIME, VERDICT), (
        "答复 {number} 实际解决。X月X日XX时，XX科工作人员与来电人电话沟通/面谈。经核实……，"
        "答复如下：……。来电人表示接受/不接受。")),
    # 松江 附件3 “二、咨询类或意见建议类办结报告填报模板”: “…根据“××××××政策、×××通知或×××实施意见”等
    # （主要指政策层面的依据）…来电人×××的诉求符合/不符合规定及具体要求，与来电人进行了沟通解释，来电人×××
    # 表示接受/不接受。”
    "songjiang-consult": ReplyCheck("办结规范（松江·咨询/建议类）", (CONTACT_WAY, CONTACT_TIME, BASIS, VERDICT), (
        "答复 {number} 解释说明。X月X日XX时，XX科工作人员与来电人电话沟通/面谈。经核实，来电人的情况如下：……。"
        "根据《……》（政策依据）/工作流程，来电人的诉求符合/不符合规定，已与来电人沟通解释，来电人表示接受/不接受。")),
    # 松江 附件2 信访答复模板: “经查，[…事实认定情况…]。本机关认为，[…法律、法规、规章或政策]。…
    # 如不服本意见，您可自收到本处理意见之日起 30 日内向[上一级行政机关]提出复查申请。”;
    # 信访 接待处理制度: “可以自收到处理意见之日起30日内，向市政府办提出复查申请”.
    "xinfang": ReplyCheck("信访答复模板", (FACTS, BASIS, RECONSIDER), (
        "答复 {number} 您反映……。经查，……（事实认定）。本机关认为，根据《……》（处置依据），……（处理意见）。"
        "如不服本意见，您可自收到本处理意见之日起30日内向……提出复查申请。如逾期不提出复查申请，本意见即为最终意见。")),
}


def template_text(name: str, number: str) -> str:
    """The template of check ``name`` for ticket ``number``, with the elements it needs."""
    check = REPLY_CHECKS[name]
    needs = "；".join(e.name for e in check.elements)
    return f"{check.label}，需写明：{needs}。\n" + check.template.format(number=number)
