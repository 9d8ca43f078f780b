"""The ``pingdingshan`` preset: 平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号)."""

from __future__ import annotations

from bot.deadlines import Rule
from bot.presets.base import Preset

# 平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号)
RULES: tuple[Rule, ...] = (
    # “A类事项：即即办事项…应立即安排专人负责处理，并及时向反映人和市长热线办公室回复办理结果，
    #  不得以节假日为由拖延办理” -> 24h (exact hours, holidays do not stop it)
    Rule(name="pingdingshan-A", label="平顶山·A类事项", category="A", deadline="24h"),
    # “D类事项：即重要紧急类事项…必须确定1名主管领导，并在第一时间调度本单位快速处理队伍及资源
    #  快速进行处置，不得以节假日为由拖延处理”
    Rule(name="pingdingshan-D", label="平顶山·D类事项", category="D", deadline="24h", leader_at_accept=True),
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
)
# Every category keeps the default max_extensions=1: “由市长热线办公室根据具体情况重新确定办理时限，
# 原则上每件事项只能提出1次延期申请”.

PRESET = Preset(name="pingdingshan", label="平顶山", rules=RULES, source="平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号)")
