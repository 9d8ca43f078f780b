"""The ``lichuan`` preset: 利川市人力资源和社会保障局《市人社局办理市民诉求实施办法》(利人社发〔2017〕86号).

- Clock: working days (即办 1wd, 复杂 3wd, 疑难 7wd); a 紧急 ticket is announced at registration.
- Deadline authority: the rule; an extension is decided by 市长热线办 (asked 2 working days before).
- Give-back window: the same day as receipt (``same-day@17:30``).
- Progress duty: 疑难 every 3 working days.
- 督办 levels: may be raised; no clock.
"""

from __future__ import annotations

from bot.deadlines import Rule
from bot.presets.base import Preset, urgent_overlays

# 利川市人力资源和社会保障局《市人社局办理市民诉求实施办法》(利人社发〔2017〕86号)
RULES: tuple[Rule, ...] = (
    # “对能及时办结的一般事项，承办单位应在收到工单和诉求之日起1个工作日内办理并回复来信人
    #  （此类事项不需先行核实）”
    Rule(name="lichuan-即办", label="利川·即办件", category="即办", deadline="1wd"),
    # “对不能及时办结的较为复杂事项，承办单位必须于收到工单和诉求之日起3个工作日内将办理情况回复来信人”
    Rule(name="lichuan-复杂", label="利川·复杂件", category="复杂", deadline="3wd"),
    # “对确实无法在3天内办结的疑难事项，需将办理进展情况告知局办公室、局信访股，
    #  并在收到工单和诉求之日起7个工作日内办结”
    Rule(name="lichuan-疑难", label="利川·疑难件", deadline="7wd", progress="3wd", progress_to_office=True),
    # Every ticket:
    # “承办单位不能在7天内办结的应在办结时限前2天将情况书面反馈至局办公室，由局办公室向市长热线办申请延期
    #  （市长热线办确定的延期时限不能再更改）” -> notice 2 working days, one extension, final;
    # “不属于我局受理的事项，需在当天予以退回” -> a giveback is due the same day;
    # “机关各股室回复来信人前应经局分管领导审核” -> review (the default).
    Rule(
        name="lichuan-all", label="利川·通用规定",
        overlay=True,
        extension_notice_wd=2,
        max_extensions=1,
        # “书面反馈至局办公室，由局办公室向市长热线办申请延期” -> the office, then the hotline decides.
        extension_chain=("office", "hotline"),
        giveback_within="same-day@17:30",
        review=True,
    ),
    *urgent_overlays("lichuan", "利川"),
)

PRESET = Preset(name="lichuan", label="利川", rules=RULES, source="利川市人力资源和社会保障局《市人社局办理市民诉求实施办法》(利人社发〔2017〕86号)")
