"""The ``jilin`` preset: 吉林市人民政府办公室《吉林市民生诉求接诉即办管理办法（试行）》(吉市政办发〔2021〕19号).

- Clock: 紧急类 24 hours on every calendar day (announced at registration); 一般类 working days.
- Deadline authority: the rule.
- Give-back window: none set.
- Progress duty: none set (first contact within 24 hours).
- 督办 levels: may be raised; no clock.
"""

from __future__ import annotations

from bot.deadlines import Rule
from bot.presets.base import Preset, urgent_overlays

# 吉林市人民政府办公室《吉林市民生诉求接诉即办管理办法（试行）》(吉市政办发〔2021〕19号)
RULES: tuple[Rule, ...] = (
    # “紧急类诉求，要急事急办、优先处理、24 小时响应，具体承办单位接到转办通知后，应第一时间到现场调查核实”;
    # “紧急类诉求能立即处理的要在最短时间内处理解决，最迟不超过 24 小时办结”;
    # hours: reminded on every calendar day, and announced at registration (announce).
    # “紧急类诉求实行全过程跟踪回访”; “其中紧急类诉求办理质量将作为重要考核指标” -> weight 2 in the reports
    # “应第一时间到现场调查核实，并立即做出应急处置，同时将处置情况直报市长电话室” -> every 进展 to the office
    # “紧急类诉求，根据各级承办单位管理职能直接转至具体承办单位办理…同时转至其上级单位督促解决”
    Rule(name="jilin-紧急", label="吉林·紧急类诉求", category="紧急", deadline="24h", first_contact="24h", feedback="all",
         progress_to_office=True, report_weight=2, copy_to_parent=True,
         announce=True),
    # Every 诉求: “未在规定时限内解决的，要向诉求人做好解释说明，取得理解，并承诺办结时限” -> delay_sms.
    Rule(name="jilin-all", label="吉林·超期告知", overlay=True, delay_sms=True),
    # “一般类诉求，承办单位要…在 24 小时内对诉求事项进行核实”;
    # “一般类诉求具备解决条件的要在 5 个工作日内办结”; “一般类诉求抽查回访”
    Rule(name="jilin-一般", label="吉林·一般类诉求", deadline="5wd", first_contact="24h", feedback="sampled"),
    *urgent_overlays("jilin", "吉林"),
)

PRESET = Preset(name="jilin", label="吉林", rules=RULES, source="吉林市人民政府办公室《吉林市民生诉求接诉即办管理办法（试行）》(吉市政办发〔2021〕19号)")
