"""The ``xinfang`` preset: 市政府办信访接待处理制度, with 信访工作条例 (2022).

- Clock: natural days (30 / 60, the last day rolled past days off), reminded on every calendar day;
  重大 and 紧急 tickets are announced at registration.
- Deadline authority: the rule.
- Give-back window: none set.
- Progress duty: none set.
- 督办 levels: may be raised; no clock.
"""

from __future__ import annotations

from bot.deadlines import Rule
from bot.presets.base import Preset, urgent_overlays

# 市政府办信访接待处理制度, with 信访工作条例 (2022)
RULES: tuple[Rule, ...] = (
    # “复查工作应在30日内完成，并将复查意见书面答复信访群众”; 复核 likewise (条例 第三十六条: 30日).
    # Natural days, rolled past days off (民法典 第二百零三条).
    Rule(name="xinfang-复查复核", label="信访·复查复核", kind=["复查", "复核"], deadline="30d", roll=True, receipt_sms=True),
    # 信访工作条例 第三十二条 “信访事项应当自受理之日起60日内办结”; the 接待处理制度: “對於當場無法答復的
    # 信訪事項,要向來訪群眾說明情況,告知其處理程序和預計辦理時間” -> a 受理告知 SMS.
    # “信訪群眾對信訪事項的處理結果不滿意的,可以自收到處理意見之日起30日內,向市政府辦提出復查申請” ->
    # the answer carries the 复查 notice (reply_check) and the 30-day window is kept on the ticket.
    Rule(name="xinfang-办理", label="信访·办理", deadline="60d", roll=True, receipt_sms=True, reply_check="xinfang",
         reconsider_days=30),
    # “對於重大、緊急信訪事項,要及時向市政府辦領導報告” -> a 重大 ticket is announced at registration
    # (紧急 ones by the shared overlays below).
    Rule(name="xinfang-重大标签报告", label="信访·重大件登记即报告", overlay=True, tags=["重大"], announce=True),
    Rule(name="xinfang-重大类别报告", label="信访·重大类登记即报告", overlay=True, category="重大", announce=True),
    *urgent_overlays("xinfang", "信访"),
)

PRESET = Preset(name="xinfang", label="信访", rules=RULES, source="市政府办信访接待处理制度, with 信访工作条例 (2022)")
