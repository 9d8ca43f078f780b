"""The period reports against a quarter computed by hand (issue 16 §6).

Seeds: 信访 “每周对本周信访情况进行小结，每月对本月信访情况进行综合分析，每季度和每年进行全面总结分析”;
“信访事项受理率…办理时限达标率…办理质量合格率…群众满意度”; 吉林 “向诉求人反馈率…其中紧急类诉求办理质量
将作为重要考核指标” (preset ``jilin``: 紧急 counts twice in every rate); 平顶山 周分析 “梳理热点、难点问题
及网络单位办理情况”.
"""

from __future__ import annotations

from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from scheduler import period_reports as pr
from scheduler.reports import reports_dir
from store.models import ReviewRequest, SmsMessage, Ticket
from tests.conftest import local
from tests.scheduler.conftest import Desk, reminders, text

JILIN = {"procedure": {"preset": "jilin"}}
NOW = local(2026, 7, 1, 9, 0)  # Wed: the first working day of July, after the second quarter


async def _review(desk: Desk, number: str, state: str, at: datetime) -> None:
    async with desk.ctx.sessions.begin() as s:
        t = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
        s.add(ReviewRequest(ticket_id=t.id, kind="reply", state=state, round=1, requested_at=at, decided_at=at,
                            content="答复"))


async def _sms(desk: Desk, number: str, state: str, at: datetime) -> None:
    async with desk.ctx.sessions.begin() as s:
        t = (await s.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
        s.add(SmsMessage(ticket_id=t.id, phone="13812341234", kind="answer", params={}, text="", provider="log",
                         out_id=f"t{t.id}-answer-r1", state=state, created_at=at, updated_at=at))


async def quarter(desk: Desk) -> None:
    """2026 Q2. Weights: 紧急 2, 一般 1 (jilin). Every ticket dispatched when received."""
    async def make(number: str, at, unit: str, kind: str = "投诉", category: str | None = None,
                   address: str | None = None, **fields) -> None:
        await desk.ticket(number, at=at, unit=unit, accept_by=None, kind=kind, category=category, address=address)
        await desk.set_fields(number, dispatched_at=at, **fields)

    # YLK
    await make("Y1", local(2026, 4, 10, 9, 0), "YLK", category="紧急", address="岳阳街道人民路1号", state="archived",
               accepted_at=local(2026, 4, 10, 9, 30), deadline=local(2026, 4, 11, 9, 0),
               answered_at=local(2026, 4, 11, 8, 0), feedback="满意")
    await _review(desk, "Y1", "approved", local(2026, 4, 11, 8, 0))
    await _sms(desk, "Y1", "delivered", local(2026, 4, 11, 8, 1))
    await make("Y2", local(2026, 5, 6, 9, 0), "YLK", address="岳阳街道谷阳路2号", state="answered",
               accepted_at=local(2026, 5, 6, 10, 0), deadline=local(2026, 5, 13, 17, 30),
               answered_at=local(2026, 5, 15, 10, 0), feedback="不满意", round=2, urge_count=1)
    await _review(desk, "Y2", "rejected", local(2026, 5, 12, 10, 0))  # first review refused …
    await _review(desk, "Y2", "approved", local(2026, 5, 15, 10, 0))  # … approved the second time
    await make("Y3", local(2026, 6, 1, 9, 0), "YLK", address="泗泾镇泗宝路8号", state="accepted",
               accepted_at=local(2026, 6, 1, 10, 0), deadline=local(2026, 6, 8, 17, 30))  # open, past due
    await make("Y4", local(2026, 6, 29, 9, 0), "YLK", kind="咨询", state="dispatched",
               deadline=local(2026, 7, 6, 17, 30))  # not accepted, still within time
    # SHJZK
    await make("S1", local(2026, 4, 20, 9, 0), "SHJZK", category="紧急", address="方松街道文诚路3号",
               state="answered", accepted_at=local(2026, 4, 20, 9, 10), deadline=local(2026, 4, 21, 9, 0),
               answered_at=local(2026, 4, 21, 12, 0), feedback="不满意")  # answered late
    await _review(desk, "S1", "approved", local(2026, 4, 21, 12, 0))
    await _sms(desk, "S1", "sent", local(2026, 4, 21, 12, 1))
    await make("S2", local(2026, 5, 20, 9, 0), "SHJZK", address="岳阳街道中山路5号", state="answered",
               accepted_at=local(2026, 5, 20, 9, 30), deadline=local(2026, 5, 27, 17, 30),
               answered_at=local(2026, 5, 26, 9, 0))  # nobody told the citizen: no SMS, no verdict
    await _review(desk, "S2", "approved", local(2026, 5, 26, 9, 0))
    await make("S3", local(2026, 6, 10, 9, 0), "SHJZK", kind="求助", state="returned",
               accepted_at=local(2026, 6, 10, 9, 30), deadline=local(2026, 6, 17, 17, 30))  # 退单: not overdue
    # outside the quarter
    await make("X-MAR", local(2026, 3, 31, 9, 0), "YLK", state="accepted", accepted_at=local(2026, 3, 31, 9, 5))
    await make("X-JUL", local(2026, 7, 1, 8, 0), "YLK", state="dispatched")


# Hand-computed from the scenario above (w = weight):
#   YLK   受理率  accepted/dispatched w = (2+1+1)/(2+1+1+1) = 4/5       = 80.0
#         达标率  on time Y1 (2) / (Y1 2 + overdue Y2 1 + Y3 1) = 2/4   = 50.0
#         合格率  first review approved Y1 (2) / reviewed Y1 2 + Y2 1    = 66.7
#         反馈率  told Y1 (SMS) 2 + Y2 (verdict) 1 / answered 3          = 100.0
#         满意率  满意 Y1 2 / (2 + 不满意 Y2 1)                           = 66.7
#   SHJZK 受理率  4/4 = 100.0; 达标率 S2 1 / (1 + S1 2) = 33.3; 合格率 3/3 = 100.0;
#         反馈率  S1 2 / answered (2 + 1) = 66.7; 满意率 0 / 2 = 0.0
#   total 受理率 8/9 = 88.9; 达标率 3/7 = 42.9; 合格率 5/6 = 83.3; 反馈率 5/6 = 83.3; 满意率 2/5 = 40.0
#   (unweighted the total 满意率 would be 1/3 = 33.3: the 紧急 weight moves it)
YLK = {"received": 4, "urgent": 1, "on_time": 1, "overdue": 2, "supervised": 1, "urged": 1,
       "rates": [80.0, 50.0, 66.7, 100.0, 66.7]}
SHJZK = {"received": 3, "urgent": 1, "on_time": 1, "overdue": 1, "supervised": 0, "urged": 0,
         "rates": [100.0, 33.3, 100.0, 66.7, 0.0]}
TOTAL = {"received": 7, "urgent": 2, "on_time": 2, "overdue": 3, "supervised": 1, "urged": 1,
         "rates": [88.9, 42.9, 83.3, 83.3, 40.0]}
CATEGORIES = [("投诉", 3), ("紧急", 2), ("咨询", 1), ("求助", 1)]
PLACES = [("岳阳街道", 3), ("泗泾镇", 1), ("方松街道", 1)]
NAMES = {"BGS": "局办公室", "YLK": "养老服务科", "SHJZK": "社会救助科"}


def _summary(f: pr.Figures) -> dict[str, object]:
    return {"received": f.received, "urgent": f.urgent, "on_time": f.on_time, "overdue": f.overdue,
            "supervised": f.supervised, "urged": f.urged, "rates": [v for _, v in f.rates()]}


async def test_quarter_figures_by_hand(sched, clock) -> None:
    bot, desk, _ = await sched(**JILIN)
    await quarter(desk)
    period = pr.parse_period(bot.ctx.calendar, "2026-Q2")
    assert (period.title, period.start, period.end) == ("2026年第二季度", local(2026, 4, 1), local(2026, 7, 1))
    async with bot.ctx.sessions() as s:
        report = await pr.build_period_report(s, NAMES, pr.weigher(bot.ctx.service.rulebook), period, NOW)
    assert _summary(report.unit("YLK")) == YLK
    assert _summary(report.unit("SHJZK")) == SHJZK
    assert _summary(report.total) == TOTAL
    assert sorted(report.categories, key=lambda x: (-x[1], x[0])) == sorted(CATEGORIES, key=lambda x: (-x[1], x[0]))
    assert sorted(report.places, key=lambda x: (-x[1], x[0])) == sorted(PLACES, key=lambda x: (-x[1], x[0]))


async def test_period_job_files_the_month_and_the_quarter(sched, clock) -> None:
    bot, desk, runner = await sched(**JILIN)
    await quarter(desk)
    clock.set(NOW)
    assert await runner.run_job("period_reports") == 2  # June's 综合分析 and the Q2 总结
    assert await runner.run_job("period_reports") is None
    month, quarter_row = await reminders(bot.ctx, "report_month"), await reminders(bot.ctx, "report_quarter")
    assert len(month) == 1 and text(month[0]).startswith("【月度综合分析】2026年6月：受理 3 件")
    body = text(quarter_row[0]).splitlines()
    assert body[0] == "【季度总结】2026年第二季度：受理 7 件（紧急 2 件），按期办结 2 件，超期 3 件，督办 1 件，催办 1 件。"
    assert body[1] == "受理率 88.9%；时限达标率 42.9%；质量合格率 83.3%；反馈率 83.3%；满意率 40.0%（紧急类按规则权重计）。"
    assert "养老服务科：受理 4，按期 1，超期 2，督办 1，受理率 80.0%，时限达标率 50.0%，质量合格率 66.7%，" \
           "反馈率 100.0%，满意率 66.7%" in body
    assert "热点地点：岳阳街道 3、" in text(quarter_row[0])

    xlsx = reports_dir(bot.ctx.config) / "hotline-quarter-2026-Q2.xlsx"
    png = reports_dir(bot.ctx.config) / "hotline-quarter-2026-Q2.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wb = load_workbook(xlsx)
    ws = wb["指标"]
    assert [c.value for c in ws[2]] == list(pr.HEADERS)
    rows = {r[0]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    for code, expected in (("YLK", YLK), ("SHJZK", SHJZK), ("*", TOTAL)):
        r = rows[code]
        assert list(r[2:8]) == [expected[k] for k in ("received", "urgent", "on_time", "overdue", "supervised", "urged")]
        assert list(r[8:13]) == expected["rates"]
    assert "BGS" not in rows  # a unit with nothing received is left out
    assert [c.value for c in wb["口径"]["A"]][1:6] == ["受理率", "时限达标率", "质量合格率", "反馈率", "满意率"]
    assert next(r[2:4] for r in wb["热点"].iter_rows(min_row=2, values_only=True)) == ("岳阳街道", 3)


async def test_the_year_is_filed_in_january(sched, clock) -> None:
    bot, desk, _runner = await sched(**JILIN)
    await quarter(desk)
    assert pr.due_periods(bot.ctx.calendar, local(2026, 7, 1, 9, 0)) == ["2026-06", "2026-Q2"]
    assert pr.due_periods(bot.ctx.calendar, local(2026, 8, 3, 9, 0)) == ["2026-07"]
    assert pr.due_periods(bot.ctx.calendar, local(2027, 1, 4, 9, 0)) == ["2026-12", "2026-Q4", "2026"]
    period = pr.parse_period(bot.ctx.calendar, "2026")
    async with bot.ctx.sessions() as s:
        year = await pr.build_period_report(s, NAMES, pr.weigher(bot.ctx.service.rulebook), period, NOW)
    assert year.total.received == 9  # the quarter's 7, March's and July's


async def test_weekly_summary_per_unit(sched, clock) -> None:
    # 平顶山 周分析 “梳理热点、难点问题及网络单位办理情况”: each unit's volumes, on time, overdue, 督办
    bot, desk, runner = await sched(**JILIN)
    await quarter(desk)
    # Monday after the week of 5-4 … 5-10: only Y2 (received Wed 5-6) is in it. The store holds its
    # final facts (answered 5-15, after its 5-13 deadline), and the report reads what is stored: late.
    clock.set(local(2026, 5, 11, 9, 0))
    assert await runner.run_job("weekly_units") == 1
    [row] = await reminders(bot.ctx, "report_week")
    lines = text(row).splitlines()
    assert lines[0] == "【周小结】5月4日—5月10日：受理 1 件（紧急 0 件），按期办结 0 件，超期 1 件，督办 1 件，催办 1 件。"
    assert lines[1:3] == ["各单位办理情况：", "养老服务科：受理 1，按期 0，超期 1，督办 1"]
    assert lines[3] == "热点类别：投诉 1" and lines[4] == "热点地点：岳阳街道 1"


def test_periods_parse_and_refuse(tmp_path) -> None:
    from bot.calendar import WorkCalendar

    cal = WorkCalendar()
    assert pr.parse_period(cal, "2026-w47").start == local(2026, 11, 16)
    assert pr.parse_period(cal, "2026-12").end == local(2027, 1, 1)
    assert pr.parse_period(cal, "2026-Q4").title == "2026年第四季度"
    for bad in ("2026-Q5", "26-11", "2026/11", "", "2026-13"):
        try:
            pr.parse_period(cal, bad)
        except ValueError:
            continue
        raise AssertionError(bad)
