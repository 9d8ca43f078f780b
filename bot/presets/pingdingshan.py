"""The ``pingdingshan`` preset: 平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号).

- Clock: A and D 24 hours on every calendar day (announced at registration); B and C working days.
- Deadline authority: C — the 5-working-day stage is met by ``进展 NO 计划：…``; the final deadline
  is the office's (``时限 NO 日期``) or the hotline's (``deadline`` event); the others, the rule.
- Give-back window: none set.
- Progress duty: C's plan within 5 working days; C and D name their 主管领导 (``包案``).
- 督办 levels (六、督办机制): 书面 (name the responsible leader), 现场 (a 方案 within 3 working days),
  重点, 移交.
"""

from __future__ import annotations

from bot.deadlines import Rule
from bot.presets.base import Preset, urgent_overlays

# 平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号)
RULES: tuple[Rule, ...] = (
    # “A类事项：即即办事项…应立即安排专人负责处理，并及时向反映人和市长热线办公室回复办理结果，
    #  不得以节假日为由拖延办理” -> 24h (exact hours, holidays do not stop it)
    # and announced at registration (announce).
    Rule(name="pingdingshan-A", label="平顶山·A类事项", category="A", deadline="24h", announce=True),
    # “D类事项：即重要紧急类事项…必须确定1名主管领导，并在第一时间调度本单位快速处理队伍及资源
    #  快速进行处置，不得以节假日为由拖延处理”
    # -> 24h on every calendar day, announced at registration, its 主管领导 recorded (包案).
    Rule(name="pingdingshan-D", label="平顶山·D类事项", category="D", deadline="24h", leader_at_accept=True,
         announce=True),
    # “C类事项：即重要事项…要确定1名主管领导，认真组织调查处理，并与反映人沟通，在5个工作日内向
    #  市长热线办公室回复前期处理情况及办理计划，待事项办结后以书面形式回复市长热线办公室”
    # -> the 5wd deadline is the interim report and plan; the final one comes from the office.
    Rule(
        name="pingdingshan-C", label="平顶山·C类事项",
        category="C",
        deadline="5wd",
        deadline_by_office=True,
        leader_at_accept=True,
    ),
    # “B类事项：即一般事项…应确定专人负责，在5个工作日内处理完毕，并及时回复市长热线办公室” (also
    # a ticket without a category)
    Rule(name="pingdingshan-B", label="平顶山·B类事项", deadline="5wd"),
    # “群众反映事项办结后,市长热线一级、二级网络单位要对反映人进行回访。回访内容包括:反映诉求是否得到
    #  解决,服务过程满意度,办理结果满意度,是否有意见和建议等,并做好详细记录。” -> every ticket gets a
    #  phone 回访 task, which the unit (二级网络单位) may record as well as the office
    Rule(name="pingdingshan-回访", label="平顶山·回访", overlay=True, feedback="all", feedback_via="office",
         followup_by_unit=True),
    # “网络单位应及时提交延期申请,由市长热线办公室根据具体情况重新确定办理时限” -> the unit (its
    # leader) submits, the hotline decides; “原则上每件事项只能提出1次延期申请” -> max_extensions=1
    # counts applications, a refused one too.
    Rule(name="pingdingshan-all", label="平顶山·通用规定", overlay=True, max_extensions=1,
         extension_chain=("leader", "hotline")),
    # 六、督办机制: “(一)书面督办…网络单位按照《市长热线督办通知》要求明确责任领导和责任人，集中力量，
    # 按时办结，并向市长热线办公室书面回复办理结果”; “(二)现场督办…网络单位应在现场督办后3个工作日内
    # 向市长热线办公室报送办理工作方案”; “(三)重点督办…编制《市长热线专报》直接报市政府有关领导”;
    # “(四)移交办理…移交监察机关或市委干部作风大整顿领导小组办公室处理” -> only 现场 has a clock.
    Rule(name="pingdingshan-督办", label="平顶山·督办机制", overlay=True, supervision={"现场": "3wd"}),
    *urgent_overlays("pingdingshan", "平顶山"),
)
# Every category keeps the default max_extensions=1: “由市长热线办公室根据具体情况重新确定办理时限，
# 原则上每件事项只能提出1次延期申请”.

PRESET = Preset(name="pingdingshan", label="平顶山", rules=RULES, source="平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号)")
