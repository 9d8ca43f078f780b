"""Shipped rule presets, one per real unit procedure (``docs/procedures.md``; rules in ``docs/design.md``).

Each rule quotes the sentence of the procedure it encodes (``docs/procedures.md`` lists them). Rules are in match order: the first matching
non-overlay rule wins; overlay rules fill what the winner leaves unset.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.deadlines import Rule, RuleBook

__all__ = ["PRESETS", "build_rulebook"]

# 利川市人力资源和社会保障局《市人社局办理市民诉求实施办法》(利人社发〔2017〕86号)
LICHUAN: tuple[Rule, ...] = (
    # “对能及时办结的一般事项，承办单位应在收到工单和诉求之日起1个工作日内办理并回复来信人
    #  （此类事项不需先行核实）”
    Rule(name="lichuan-即办", category="即办", deadline="1wd"),
    # “对不能及时办结的较为复杂事项，承办单位必须于收到工单和诉求之日起3个工作日内将办理情况回复来信人”
    Rule(name="lichuan-复杂", category="复杂", deadline="3wd"),
    # “对确实无法在3天内办结的疑难事项，需将办理进展情况告知局办公室、局信访股，
    #  并在收到工单和诉求之日起7个工作日内办结”
    Rule(name="lichuan-疑难", deadline="7wd", progress="3wd"),
    # Every ticket:
    # “承办单位不能在7天内办结的应在办结时限前2天将情况书面反馈至局办公室，由局办公室向市长热线办申请延期
    #  （市长热线办确定的延期时限不能再更改）” -> notice 2 working days, one extension, final;
    # “不属于我局受理的事项，需在当天予以退回” -> a giveback is due the same day;
    # “机关各股室回复来信人前应经局分管领导审核” -> review (the default).
    Rule(
        name="lichuan-all",
        overlay=True,
        extension_notice_wd=2,
        max_extensions=1,
        giveback_within="same-day@17:30",
        review=True,
    ),
)

# 上海市松江区民政局《信访、市民服务热线办理规程（试行）》(沪松民〔2023〕32号)
SONGJIANG: tuple[Rule, ...] = (
    # The source-specific procedures come first: the 办结时效 list below is part of
    # “（二）12345 办理流程”, so a 962200 or 信访 ticket never falls into it.
    # “局办公室在收到转送事项之日起1个工作日内转交各承办责任科室办理。局承办责任科室在4个工作日内
    #  填好处理表（附件1）及市民热线答复模板（附件3）后，上报业务分管领导并完成答复。”
    Rule(name="songjiang-962200", source="962200", deadline="5wd", internal_due="4wd"),
    # “局办公室在收到信访件的1个工作日内，先行联系市民” and
    # “局承办责任科室在接到局办公室转交的信访件后，10个工作日内完成事项调查办理”;
    # “局办公室寄出受理告知书，完成信访受理告知” -> a 受理告知 SMS as well.
    # The procedure sets no final deadline for 信访 here (信访工作条例 does: see the xinfang preset).
    Rule(
        name="songjiang-信访",
        source="xinfang",
        internal_due="10wd",
        first_contact="1wd",
        receipt_sms=True,
    ),
    # “【紧急/次紧急工单】、【疫情类工单】即有即结（16时以后的工单可以在第二天完成答复办结）”
    Rule(name="songjiang-紧急", tags=["紧急", "次紧急", "疫情"], deadline="same-day@16:00"),
    # “【随申拍工单】：3个自然日内”
    Rule(name="songjiang-随申拍", channel="随申拍", deadline="3d"),
    # “【标签工单】…、【复核工单】、【咨询工单】、【扬言工单】（工单即接即电话安抚好情绪并优先处置）：
    #  均3个工作日内”
    Rule(name="songjiang-3wd", tags=["标签", "复核", "咨询", "扬言"], deadline="3wd"),
    # “普通工单7个工作日内” and “各承办责任科室自收到市民服务热线转送事项之日起，普通工单在6个工作日内
    #  …填好处理表…经业务分管领导确认后办结并答复市民”
    Rule(name="songjiang-普通", deadline="7wd", internal_due="6wd"),
    # “局办公室在收到市民服务热线转送事项之日起1个工作日内，先行联系来电市民”
    Rule(name="songjiang-12345-先行联系", overlay=True, source="12345", first_contact="1wd"),
    # “市民反映问题涉稳、涉扬言、涉众时，承办责任科室在接收工单之日直到工单办结为止，
    #  每日需向办公室报送热线问题处置情况”
    Rule(name="songjiang-每日报送", overlay=True, tags=["涉稳", "扬言", "涉众"], progress="daily"),
    # “退单流程应于1个工作日内完成”
    Rule(name="songjiang-退单", overlay=True, giveback_within="1wd"),
    # “（二）办结规范：工单答复内容中一般包含以下要素…对不符合规范的，一律退回承办责任科室重办”
    Rule(name="songjiang-办结规范", overlay=True, reply_check="songjiang"),
)

# 平顶山市人民政府《平顶山市市长热线工作规则》(平政〔2018〕15号)
PINGDINGSHAN: tuple[Rule, ...] = (
    # “A类事项：即即办事项…应立即安排专人负责处理，并及时向反映人和市长热线办公室回复办理结果，
    #  不得以节假日为由拖延办理” -> 24h (exact hours, holidays do not stop it)
    Rule(name="pingdingshan-A", category="A", deadline="24h"),
    # “D类事项：即重要紧急类事项…必须确定1名主管领导，并在第一时间调度本单位快速处理队伍及资源
    #  快速进行处置，不得以节假日为由拖延处理”
    Rule(name="pingdingshan-D", category="D", deadline="24h", leader_at_accept=True),
    # “C类事项：即重要事项…要确定1名主管领导，认真组织调查处理，并与反映人沟通，在5个工作日内向
    #  市长热线办公室回复前期处理情况及办理计划，待事项办结后以书面形式回复市长热线办公室”
    # -> the 5wd deadline is the interim report and plan; the final one comes from the office.
    Rule(
        name="pingdingshan-C",
        category="C",
        deadline="5wd",
        deadline_by_office=True,
        leader_at_accept=True,
    ),
    # “B类事项：即一般事项…应确定专人负责，在5个工作日内处理完毕，并及时回复市长热线办公室” (also
    # a ticket without a category)
    Rule(name="pingdingshan-B", deadline="5wd"),
)
# Every category keeps the default max_extensions=1: “由市长热线办公室根据具体情况重新确定办理时限，
# 原则上每件事项只能提出1次延期申请”.

# 吉林市人民政府办公室《吉林市民生诉求接诉即办管理办法（试行）》(吉市政办发〔2021〕19号)
JILIN: tuple[Rule, ...] = (
    # “紧急类诉求，要急事急办、优先处理、24 小时响应，具体承办单位接到转办通知后，应第一时间到现场调查核实”;
    # “紧急类诉求能立即处理的要在最短时间内处理解决，最迟不超过 24 小时办结”;
    # “紧急类诉求实行全过程跟踪回访”
    Rule(name="jilin-紧急", category="紧急", deadline="24h", first_contact="24h", feedback="all"),
    # “一般类诉求，承办单位要…在 24 小时内对诉求事项进行核实”;
    # “一般类诉求具备解决条件的要在 5 个工作日内办结”; “一般类诉求抽查回访”
    Rule(name="jilin-一般", deadline="5wd", first_contact="24h", feedback="sampled"),
)

# 市政府办信访接待处理制度, with 信访工作条例 (2022)
XINFANG: tuple[Rule, ...] = (
    # “复查工作应在30日内完成，并将复查意见书面答复信访群众”; 复核 likewise (条例 第三十六条: 30日).
    # Natural days, rolled past days off (民法典 第二百零三条).
    Rule(name="xinfang-复查复核", kind=["复查", "复核"], deadline="30d", roll=True, receipt_sms=True),
    # 信访工作条例 第三十二条 “信访事项应当自受理之日起60日内办结”; the 接待处理制度: “對於當場無法答復的
    # 信訪事項,要向來訪群眾說明情況,告知其處理程序和預計辦理時間” -> a 受理告知 SMS.
    Rule(name="xinfang-办理", deadline="60d", roll=True, receipt_sms=True),
)

PRESETS: dict[str, tuple[Rule, ...]] = {
    "lichuan": LICHUAN,
    "songjiang": SONGJIANG,
    "pingdingshan": PINGDINGSHAN,
    "jilin": JILIN,
    "xinfang": XINFANG,
}


def build_rulebook(preset: str, config_rules: Sequence[Rule] = ()) -> RuleBook:
    """The rule book of ``preset`` with the office's ``config_rules`` applied.

    A config rule named like a preset rule replaces it in place; the other config rules go
    before the preset rules, in their own order, so they win. An unknown preset or two config
    rules with one name raise ``ValueError``.
    """
    try:
        base = PRESETS[preset]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown procedure preset {preset!r}; known presets: {known}") from None
    by_name: dict[str, Rule] = {}
    for rule in config_rules:
        if rule.name in by_name:
            raise ValueError(f"two [[procedure.rules]] are named {rule.name!r}")
        by_name[rule.name] = rule
    preset_names = {r.name for r in base}
    prepended = [r for r in config_rules if r.name not in preset_names]
    merged = [by_name.get(r.name, r) for r in base]
    return RuleBook([*prepended, *merged])
