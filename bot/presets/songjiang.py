"""The ``songjiang`` preset: 上海市松江区民政局《信访、市民服务热线办理规程（试行）》(沪松民〔2023〕32号).

- Clock: 紧急/次紧急/疫情 (same day) and 随申拍 (3 natural days) run every calendar day; the rest count
  working days. 紧急 tickets are announced at registration.
- Deadline authority: the rule.
- Give-back window: 1 working day from receipt (``1wd``).
- Progress duty: daily for 涉稳/扬言/涉众.
- 督办 levels: may be raised; no clock.
"""

from __future__ import annotations

from bot.deadlines import Rule
from bot.presets.base import Preset, urgent_overlays

# 上海市松江区民政局《信访、市民服务热线办理规程（试行）》(沪松民〔2023〕32号)
RULES: tuple[Rule, ...] = (
    # The source-specific procedures come first: the 办结时效 list below is part of
    # “（二）12345 办理流程”, so a 962200 or 信访 ticket never falls into it.
    # “局办公室在收到转送事项之日起1个工作日内转交各承办责任科室办理。局承办责任科室在4个工作日内
    #  填好处理表（附件1）及市民热线答复模板（附件3）后，上报业务分管领导并完成答复。”
    Rule(name="songjiang-962200", label="松江·962200件", source="962200", deadline="5wd", internal_due="4wd"),
    # “局办公室在收到信访件的1个工作日内，先行联系市民” and
    # “局承办责任科室在接到局办公室转交的信访件后，10个工作日内完成事项调查办理”;
    # “局办公室寄出受理告知书，完成信访受理告知” -> a 受理告知 SMS as well.
    # The procedure sets no final deadline for 信访 here (信访工作条例 does: see the xinfang preset).
    Rule(
        name="songjiang-信访", label="松江·信访件",
        source="xinfang",
        internal_due="10wd",
        first_contact="1wd",
        receipt_sms=True,
    ),
    # “【紧急/次紧急工单】、【疫情类工单】即有即结（16时以后的工单可以在第二天完成答复办结）”
    # -> a same-day clock: reminded on every calendar day; announced at registration.
    Rule(name="songjiang-紧急", label="松江·紧急件", tags=["紧急", "次紧急", "疫情"], deadline="same-day@16:00",
         announce=True),
    # “【随申拍工单】：3个自然日内”
    Rule(name="songjiang-随申拍", label="松江·随申拍件", channel="随申拍", deadline="3d"),
    # “【标签工单】…、【复核工单】、【咨询工单】、【扬言工单】（工单即接即电话安抚好情绪并优先处置）：
    #  均3个工作日内”
    Rule(name="songjiang-3wd", label="松江·标签/复核/咨询/扬言件", tags=["标签", "复核", "咨询", "扬言"], deadline="3wd"),
    # “普通工单7个工作日内” and “各承办责任科室自收到市民服务热线转送事项之日起，普通工单在6个工作日内
    #  …填好处理表…经业务分管领导确认后办结并答复市民”
    Rule(name="songjiang-普通", label="松江·普通件", deadline="7wd", internal_due="6wd"),
    # “局办公室在收到市民服务热线转送事项之日起1个工作日内，先行联系来电市民”
    Rule(name="songjiang-12345-先行联系", label="松江·12345先行联系", overlay=True, source="12345", first_contact="1wd"),
    # “市民反映问题涉稳、涉扬言、涉众时，承办责任科室在接收工单之日直到工单办结为止，
    #  每日需向办公室报送热线问题处置情况”
    Rule(name="songjiang-每日报送", label="松江·每日报送", overlay=True, tags=["涉稳", "扬言", "涉众"], progress="daily",
         progress_to_office=True),
    # “退单流程应于1个工作日内完成”
    Rule(name="songjiang-退单", label="松江·退单时限", overlay=True, giveback_within="1wd"),
    # The answer template by source and kind (overlays: the first that sets reply_check wins):
    # “填写处理表（附件1）及信访答复模板（附件2）” — whose notice reads “如不服本意见，您可自收到本处理意见
    #  之日起 30 日内向[上一级行政机关]提出复查申请” -> its own check and a 30-day 复查 window;
    Rule(name="songjiang-信访答复", label="松江·信访答复模板", overlay=True, source="xinfang", reply_check="xinfang",
         reconsider_days=30),
    # 附件3 “二、咨询类或意见建议类办结报告填报模板” for 咨询 and 建议; 962200 and the rest use
    # “一、求助类或投诉类办结报告填报模板” (962200: “填好处理表（附件1）及市民热线答复模板（附件3）”).
    Rule(name="songjiang-咨询答复", label="松江·咨询/建议答复模板", overlay=True, kind=["咨询", "建议"],
         reply_check="songjiang-consult"),
    # “（二）办结规范：工单答复内容中一般包含以下要素…对不符合规范的，一律退回承办责任科室重办”
    Rule(name="songjiang-办结规范", label="松江·办结规范", overlay=True, reply_check="songjiang"),
    *urgent_overlays("songjiang", "松江"),
)

PRESET = Preset(name="songjiang", label="松江", rules=RULES, source="上海市松江区民政局《信访、市民服务热线办理规程（试行）》(沪松民〔2023〕32号)")
