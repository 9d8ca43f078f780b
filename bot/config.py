"""The TOML configuration, validated by pydantic (every key is listed in ``docs/configuration.md``).

Errors name the key path and the reason in Chinese, one line per problem
(``units[1].chats[0].platform: 应为以下之一：console、wecom、dingtalk、feishu``), never a traceback.
A secret may be written ``${ENV_VAR}`` (or ``${ENV_VAR:-default}``); a missing variable without a
default is an error naming it.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bot.calendar import WorkCalendar
from bot.deadlines import Rule
from bot.platforms import platform, platform_names, platforms
from bot.presets import PRESETS
from bot.quiet_hours import parse_quiet_hours
from bot.sms_providers import SmsConfig

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Role = Literal["office", "leader", "handler"]
CONSOLE = "console"


def chat_platforms() -> list[str]:
    """The platforms a chat may be bound to: the console and every registered chat platform."""
    return [CONSOLE, *platform_names()]


class ConfigError(Exception):
    """The configuration cannot be used; the message names every bad key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def key_path_errors(problems: list[str]) -> PydanticCustomError:
    """A model-level error of several problems, each ``"<key path relative to the model>: 原因"``
    (or just ``"原因"`` for the model itself); the loader prefixes the model's own path."""
    return PydanticCustomError("key_paths", "{problems}", {"problems": "\n".join(problems)})


class ServerConfig(_Model):
    """``[server]``."""

    host: str = Field("127.0.0.1", description="监听地址")
    port: int = Field(8080, ge=0, le=65535, description="监听端口")
    public_url: str = Field("", description="对外访问地址，用于短信和卡片里的链接；留空则不发链接")
    secret: str = Field("", description="签名卡片按钮、控制台会话和来电人链接的密钥；留空则由 intake.secret 派生，多实例须相同")


class StoreConfig(_Model):
    """``[store]``."""

    url: str = Field("sqlite+aiosqlite:///hotline.db",
                     description="数据库地址：sqlite+aiosqlite:///文件 或 postgresql+asyncpg://用户@主机/库名")
    echo: bool = Field(False, description="把每条 SQL 写进日志（排查问题用）")


class YearSchedule(_Model):
    """``[calendar.years.<year>]``: one year's official 放假 and 调休 dates, as the State Council
    publishes them each November."""

    holidays: list[date] = Field(min_length=1, description="当年放假的日期（含周末），ISO 日期")
    workdays: list[date] = Field([], description="当年调休上班的周末日期，ISO 日期")


class CalendarConfig(_Model):
    """``[calendar]``."""

    timezone: str = Field("Asia/Shanghai", description="时区：显示的时间和工作日计算都用它")
    office_day_end: time = Field(time(17, 30), description="下班时间：期限到最后一天的这个时刻为止")
    office_day_start: time = Field(time(8, 30), description="上班时间：提醒类任务从此时开始")
    extra_holidays: list[date] = Field([], description="本单位额外放假的日期（官方日历之外），ISO 日期")
    extra_workdays: list[date] = Field([], description="本单位额外上班的日期（如调休的周末），ISO 日期")
    years: dict[int, YearSchedule] = Field(
        {}, description="整年的官方放假安排，键为年份；写了的年份视为已覆盖，不再按周一至周五推算")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知的时区 {value!r}，例如 Asia/Shanghai") from exc
        return value

    @model_validator(mode="after")
    def _years_hold_their_dates(self) -> CalendarConfig:
        problems = []
        for year, schedule in self.years.items():
            for key in ("holidays", "workdays"):
                for i, d in enumerate(getattr(schedule, key)):
                    if d.year != year:
                        problems.append(f"years.{year}.{key}[{i}]: {d.isoformat()} 不在 {year} 年")
            both = sorted(set(schedule.holidays) & set(schedule.workdays))
            if both:
                problems.append(f"years.{year}: 同一天既放假又上班：{'、'.join(d.isoformat() for d in both)}")
        both = sorted(set(self.all_holidays) & set(self.all_workdays))
        if both and not problems:
            problems.append(f"同一天既放假又上班：{'、'.join(d.isoformat() for d in both)}")
        if problems:
            raise key_path_errors(problems)
        return self

    @property
    def all_holidays(self) -> list[date]:
        """``extra_holidays`` plus the holidays of every ``[calendar.years.<year>]``."""
        return [*self.extra_holidays, *(d for s in self.years.values() for d in s.holidays)]

    @property
    def all_workdays(self) -> list[date]:
        """``extra_workdays`` plus the 调休 working days of every ``[calendar.years.<year>]``."""
        return [*self.extra_workdays, *(d for s in self.years.values() for d in s.workdays)]

    def work_calendar(self) -> WorkCalendar:
        """The working-day calendar this section describes."""
        return WorkCalendar(self.timezone, self.office_day_end, self.all_holidays, self.all_workdays,
                            official_years=self.years)


class RoutingRule(_Model):
    """``[[procedure.routing]]``: dispatch a new ticket to a unit when it matches."""

    unit: str = Field(description="派往的单位代码（[[units]] 的 code）")
    source: str | None = Field(None, description="只匹配此来源，如 12345")
    kind: str | None = Field(None, description="只匹配此类型，如 投诉、咨询")
    category: str | None = Field(None, description="只匹配此分类")
    tags: list[str] | None = Field(None, description="工单带有其中任一标签即匹配")
    keywords: list[str] | None = Field(None, description="工单内容含其中任一关键词即匹配")


class ProcedureConfig(_Model):
    """``[procedure]``: the preset, extra rules, routing, and who reviews."""

    preset: str = Field("songjiang", description="期限规则预设，已登记的预设之一（见 docs/procedures.md）")
    rules: list[Rule] = Field([], description="自定义期限规则，排在预设规则之前，同名则替换预设规则")
    routing: list[RoutingRule] = Field([], description="自动派单规则，新工单命中即派往对应单位")
    office_may_review: bool = Field(True, description="办公室可以像分管领导一样同意或驳回")
    duplicate_window_days: int = Field(30, ge=0, description="同一来电人同样内容在这么多天内再来，记为重复件")
    feedback_seed: str = Field("hotline", description="抽样回访的种子：同一种子、同一工单号，抽样结果总相同")
    verdict_wait_wd: int = Field(3, ge=1, le=60, description="已答复这么多个工作日仍无满意度评价的工单，列入办公室核查清单")

    @field_validator("preset")
    @classmethod
    def _registered_preset(cls, value: str) -> str:
        if value not in PRESETS:
            raise PydanticCustomError("literal_error", "not a registered preset",
                                      {"expected": ", ".join(repr(n) for n in PRESETS)})
        return value


class IntakeConfig(_Model):
    """``[intake]``."""

    secret: str = Field(min_length=1, description="POST /api/v1/tickets 的 HMAC 签名密钥")
    max_body_bytes: int = Field(1024 * 1024, description="请求体上限（字节），超过返回 413")
    window_seconds: int = Field(300, description="X-Hotline-Timestamp 与当前时间允许相差的秒数")


class ApiConfig(_Model):
    """``[api]``."""

    tokens: list[str] = Field(min_length=1, description="查询接口的 Bearer 令牌，可写多个")

    @field_validator("tokens")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if any(not t for t in value):
            raise ValueError("令牌不能为空字符串")
        return value


class ChatBinding(_Model):
    """One group chat of a unit: ``{platform, bot, chat_id}`` plus the platform's own keys (a
    send-only robot's, say), validated by the platform's ``chat_options`` model."""

    model_config = ConfigDict(extra="allow")

    platform: str = Field(description="群所在的平台：console 或 [platforms] 下的聊天平台")
    bot: str = Field("default", description="机器人名称，对应 [platforms.<平台>.<名称>]")
    chat_id: str = Field(description="群的 ID（平台给出的会话 ID）")

    @field_validator("platform")
    @classmethod
    def _registered(cls, value: str) -> str:
        names = chat_platforms()
        if value not in names:
            raise PydanticCustomError("literal_error", "not a registered platform",
                                      {"expected": ", ".join(repr(n) for n in names)})
        return value

    @model_validator(mode="after")
    def _platform_options(self) -> ChatBinding:
        extra = self.model_extra or {}
        if not extra:
            return self
        model = None if self.platform == CONSOLE else platform(self.platform).chat_options
        if model is None:
            raise key_path_errors([f"{key}: 不认识的配置项" for key in extra])
        try:
            model.model_validate(extra)
        except ValidationError as exc:
            raise key_path_errors(_format_errors(exc).splitlines()) from None
        return self

    @property
    def options(self) -> dict[str, Any]:
        """The platform's own keys of this chat, as written (see the platform's ``chat_options``)."""
        return dict(self.model_extra or {})


class UnitConfig(_Model):
    """``[[units]]``."""

    code: str = Field(min_length=1, max_length=64, description="单位代码，唯一")
    name: str = Field(description="单位名称")
    short_name: str = Field("", max_length=20, description="单位简称，如 养老科；短信变量放不下全称时用它（腾讯云默认每个变量 6 字）")
    parent: str | None = Field(None, description="上级单位代码；根单位不写")
    chats: list[ChatBinding] = Field([], description="机器人在其中发消息的群")


class RoleBinding(_Model):
    """``roles = [{unit, role}]`` of a person."""

    unit: str = Field(description="单位代码")
    role: Role = Field(description="角色：office 办公室、leader 分管领导、handler 承办人")


class PersonConfig(_Model):
    """``[[people]]``."""

    name: str = Field(min_length=1, description="姓名，唯一")
    mobile: str = Field("", description="手机号（提醒短信用）")
    ids: dict[str, str] = Field({}, description="各平台的用户 ID，如 { wecom = \"zhangsan\" }")
    roles: list[RoleBinding] = Field([], description="在哪些单位担任什么角色")
    password_hash: str = Field("", description="控制台登录密码的哈希，用 hotline-bot password-hash 生成")
    title: str = Field("", description="职务，如 科员；随附件和回传结果写明承办人信息")
    phone: str = Field("", description="办公电话；留空则用手机号")


class ConsoleConfig(_Model):
    """``[platforms.console]``: the built-in web chat."""

    enabled: bool = Field(False, description="启用内置网页控制台 /console")
    name: str = Field("热线助手", description="机器人在控制台里的名字（@它）")
    require_login: bool = Field(True, description="需要登录；只有在本机试用时才关掉")
    demo_tickets: bool = Field(False, description="空库启动时放几张虚构的演示工单")


class PlatformsConfig(_Model):
    """``[platforms]``: the console, and one ``[platforms.<name>.<bot>]`` table per bot of each
    registered chat platform (validated by that platform's config model, see
    ``bot.platform_config``)."""

    model_config = ConfigDict(extra="allow")

    console: ConsoleConfig = Field(ConsoleConfig(), description="内置网页控制台")

    @model_validator(mode="after")
    def _registered_platforms(self) -> PlatformsConfig:
        names = platform_names()
        problems = [f"{key}: 不认识的配置项" for key in self.model_extra or {} if key not in names]
        for key, tables in (self.model_extra or {}).items():
            if key in names and not (isinstance(tables, dict) and all(isinstance(t, dict) for t in tables.values())):
                problems.append(f"{key}: 应为表，如 [platforms.{key}.<名称>]")
        if problems:
            raise key_path_errors(problems)
        return self

    def bot_tables(self, platform: str) -> dict[str, dict[str, Any]]:
        """The raw ``[platforms.<platform>.<bot>]`` tables by bot name (empty when none)."""
        return dict((self.model_extra or {}).get(platform) or {})


class HotlineConfig(_Model):
    """``[hotline]``: where approved results are POSTed back."""

    report_url: str = Field("", description="审核通过的办理结果回传到这个地址；留空则不回传")
    report_secret: str = Field("", description="回传请求的 HMAC 签名密钥（签法同受理接口）")


DEFAULT_ATTACHMENT_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf",
                            "application/msword", "application/vnd.ms-excel",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            "text/plain"]


class AttachmentsConfig(_Model):
    """``[attachments]``: photos and files attached to 进展, 答复, 退单 and 说明."""

    dir: str = Field("", description="附件保存目录；留空则放在 SQLite 数据库文件旁的 <库名>.files 目录（PostgreSQL 时为配置文件旁的 attachments 目录）")
    max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="单个附件的大小上限（字节），超过则拒收")
    types: list[str] = Field(DEFAULT_ATTACHMENT_TYPES, description="允许的文件类型（MIME），其余拒收")
    window_minutes: int = Field(10, ge=0, description="同一人在同一会话发来图片或文件后，这么多分钟内的命令会带上它")
    report: Literal["links", "files"] = Field("links", description="回传热线时附件的形式：links 签名且会过期的链接，files 文件本身（base64）")
    link_hours: int = Field(72, ge=1, description="回传链接的有效期（小时）")


class JobConfig(_Model):
    """``[scheduler.jobs.<job>]``."""

    enabled: bool = Field(True, description="是否运行此任务")
    cron: str = Field("", description="crontab 表达式（按配置的时区）；留空用任务的默认时间")


class SchedulerConfig(_Model):
    """``[scheduler]``."""

    enabled: bool = Field(True, description="是否运行定时提醒和报表")
    quiet_hours: str = Field("21:00-08:00", description="免打扰时段，提醒等到结束再发；留空为不设")
    jobs: dict[str, JobConfig] = Field({}, description="各定时任务的开关和时间")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value


class ImportConfig(_Model):
    """``[import]``: the export's column headers, when they differ from the defaults."""

    headers: dict[str, str] = Field({}, description="导出文件的列名 → 受理字段，如 { \"工单号\" = \"number\" }")
    source: str = Field("12345", description="没有“来源”列时，导入工单的来源")


class IntelligenceConfig(_Model):
    """``[intelligence]``: reading the tickets (category and unit suggestion, 重复件, hot topics)."""

    suggest: bool = Field(True, description="未派单工单的卡片上显示按历史工单学得的类别和承办单位建议")
    auto_dispatch_above: float | None = Field(
        None, gt=0, le=1, description="建议单位的置信度达到此值时自动派单并说明；不设为不自动派单（如 0.9）")
    near_duplicate_similarity: float = Field(
        0.6, gt=0, le=1, description="同一来电人两件诉求内容的相似度达到此值（0–1）记为重复件")
    related_similarity: float = Field(
        0.5, gt=0, le=1, description="不同来电人在同一事发地址反映的内容相似度达到此值（0–1）时标记为涉众")
    min_history: int = Field(20, ge=2, description="已派单的历史工单少于此数时不训练模型、不给建议")
    max_history: int = Field(10000, ge=2, description="训练只用最近这么多件已派单工单，限制每晚训练的用时和模型大小")
    user_words: list[str] = Field([], description="分词时保持完整的本地地名、机构名，如 [\"鹿鸣湾社区\", \"城东供水公司\"]；单位名称和分拨关键词已自动加入")
    user_dict: str = Field("", description="jieba 格式的用户词典文件（每行一个词，可跟词频、词性），与 user_words 一样使用；相对路径从配置文件所在目录算起")

    @model_validator(mode="after")
    def _history_bounds(self) -> IntelligenceConfig:
        if self.max_history < self.min_history:
            raise ValueError(f"max_history（{self.max_history}）不能小于 min_history（{self.min_history}），否则永远不会训练")
        return self

    def user_dict_path(self, config_dir: Path | None) -> Path | None:
        """The user dictionary file, relative paths taken from the config file's directory."""
        if not self.user_dict:
            return None
        path = Path(self.user_dict)
        return path if path.is_absolute() or config_dir is None else config_dir / path


class Config(_Model):
    """The whole configuration file."""

    server: ServerConfig = Field(ServerConfig(), description="网页服务")
    store: StoreConfig = Field(StoreConfig(), description="数据库")
    calendar: CalendarConfig = Field(CalendarConfig(), description="工作日日历")
    procedure: ProcedureConfig = Field(ProcedureConfig(), description="办理程序：期限规则、派单、审核")
    intake: IntakeConfig = Field(description="工单受理接口")
    api: ApiConfig = Field(description="查询接口")
    units: list[UnitConfig] = Field([], description="承办单位")
    people: list[PersonConfig] = Field([], description="人员及其角色")
    platforms: PlatformsConfig = Field(PlatformsConfig(), description="聊天平台")
    hotline: HotlineConfig = Field(HotlineConfig(), description="向热线系统回传结果")
    attachments: AttachmentsConfig = Field(AttachmentsConfig(), description="附件：照片和文件")
    scheduler: SchedulerConfig = Field(SchedulerConfig(), description="定时提醒和报表")
    # a factory: a default built at import would look up the SMS provider registry before the
    # providers have registered (any import of bot.config ahead of bot.plugins)
    sms: SmsConfig = Field(default_factory=SmsConfig, description="短信")
    import_: ImportConfig = Field(ImportConfig(), alias="import", description="Excel/CSV 导入")
    intelligence: IntelligenceConfig = Field(IntelligenceConfig(), description="读工单：分拨建议、重复件、热点")
    path: Path | None = Field(None, exclude=True)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _references(self) -> Config:
        """Cross-references between sections; each problem is reported with its key path."""
        problems: list[str] = []
        codes = [u.code for u in self.units]
        known = set(codes)
        seen: set[str] = set()
        for i, u in enumerate(self.units):
            if u.code in seen:
                problems.append(f"units[{i}].code: 单位代码 {u.code!r} 重复")
            seen.add(u.code)
            if u.parent is not None and u.parent not in known:
                problems.append(f"units[{i}].parent: {u.parent!r} 不是已配置的单位代码")
        names: set[str] = set()
        for i, p in enumerate(self.people):
            if p.name in names:
                problems.append(f"people[{i}].name: 有两个人都叫 {p.name!r}，姓名须唯一")
            names.add(p.name)
            for j, r in enumerate(p.roles):
                if r.unit not in known:
                    problems.append(f"people[{i}].roles[{j}].unit: 未知单位 {r.unit!r}")
        for i, r in enumerate(self.procedure.routing):
            if r.unit not in known:
                problems.append(f"procedure.routing[{i}].unit: 未知单位 {r.unit!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def effective_secret(self) -> bytes:
        """The key for signed tokens: ``server.secret`` or one derived from the intake secret."""
        import hashlib

        raw = self.server.secret or ("derived:" + self.intake.secret)
        return hashlib.sha256(raw.encode()).digest()


def _substitute_env(node: Any, path: str, missing: list[str]) -> Any:
    if isinstance(node, str):
        def repl(m: re.Match[str]) -> str:
            value = os.environ.get(m.group(1), m.group(2))
            if value is None:
                missing.append(f"{path}: 环境变量 {m.group(1)} 未设置")
                return ""
            return value
        return _ENV_REF.sub(repl, node)
    if isinstance(node, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else k, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    return node


# -- Chinese error messages ---------------------------------------------------------------------

_SIMPLE_MESSAGES: dict[str, str] = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的配置项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "int_parsing_size": "整数太大",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为字符串（用引号括起来）",
    "string_unicode": "应为字符串（用引号括起来）",
    "list_type": "应为列表，如 [\"a\", \"b\"]",
    "tuple_type": "应为列表，如 [\"a\", \"b\"]",
    "set_type": "应为列表，如 [\"a\", \"b\"]",
    "dict_type": "应为表，如 { key = \"value\" } 或 [段名]",
    "model_type": "应为表，如 { key = \"value\" } 或 [段名]",
    "model_attributes_type": "应为表，如 { key = \"value\" } 或 [段名]",
    "date_type": "应为日期，如 2027-01-01",
    "date_parsing": "应为日期，如 2027-01-01",
    "date_from_datetime_parsing": "应为日期，如 2027-01-01",
    "date_from_datetime_inexact": "应为日期（不带时刻），如 2027-01-01",
    "time_type": "应为时刻，如 \"17:30\"",
    "time_parsing": "应为时刻，如 \"17:30\"",
    "none_required": "此处应留空",
    "path_type": "应为文件路径",
}

_BOUNDS: dict[str, str] = {
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "string_too_long": "最多 {max_length} 个字符",
    "too_long": "最多 {max_length} 项",
    "string_pattern_mismatch": "格式不对，应符合 {pattern}",
}

# Parts pydantic appends to a location to say which member of a union failed.
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|date|time|list\[.*\]|dict\[.*\]|.*\[.*\])$")


def _describe(err: Any) -> str:
    """One pydantic error as short Chinese text (the key path is added by the caller)."""
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    if kind in _SIMPLE_MESSAGES:
        return _SIMPLE_MESSAGES[kind]
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**ctx)
    if kind == "literal_error" or kind == "enum":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        shown = "、".join(options) if options else str(ctx.get("expected", ""))
        return f"应为以下之一：{shown}（当前为 {err.get('input')!r}）"
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字符"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length')} 项"
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"取值无效（{err['msg']}）"


def _location(parts: tuple[Any, ...]) -> str:
    loc = ""
    for part in parts:
        if isinstance(part, str) and _UNION_TAG.match(part):
            continue
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return loc


def _format_errors(exc: ValidationError) -> str:
    """Every error of ``exc`` as ``key.path: 中文原因``, one line each; the alternatives of a
    union at the same key are joined on one line."""
    by_loc: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        text = _describe(err)
        if err["type"] == "key_paths":  # a model-level check naming keys relative to the model
            base = _location(tuple(err["loc"]))
            for line in str(err["ctx"]["problems"]).splitlines():
                key, sep, reason = line.partition(": ")
                if not sep:
                    key, reason = "", line
                full = ".".join(p for p in (base, key) if p)
                by_loc.setdefault(f"{full}: {reason}" if full else reason, [])
            continue
        if not err["loc"]:
            by_loc.setdefault(text, [])  # model-level checks name their own paths
            continue
        reasons = by_loc.setdefault(_location(tuple(err["loc"])), [])
        if text not in reasons:
            reasons.append(text)
    lines = []
    for loc, reasons in by_loc.items():
        if not reasons:
            lines.append(loc)
        else:
            reason = "，或".join(reasons)
            lines.append(f"{loc}: {reason}" if loc else reason)
    return "\n".join(lines)


def _validate_platform_sections(config: Config) -> None:
    """Check every ``[platforms.<p>.<bot>]`` table and every chat binding's bot name."""
    problems: list[str] = []
    for spec in platforms():
        for bot, table in config.platforms.bot_tables(spec.name).items():
            try:
                spec.config_model.model_validate(table)
            except ValidationError as exc:
                prefix = f"platforms.{spec.name}.{bot}."
                problems += [prefix + line for line in _format_errors(exc).splitlines()]
    for i, unit in enumerate(config.units):
        for j, chat in enumerate(unit.chats):
            if chat.platform == CONSOLE:
                continue
            if chat.bot not in config.platforms.bot_tables(chat.platform):
                problems.append(f"units[{i}].chats[{j}].bot: no [platforms.{chat.platform}.{chat.bot}]")
    if problems:
        raise ConfigError("\n".join(problems))


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate an already-parsed TOML document (``${ENV}`` references are resolved here)."""
    missing: list[str] = []
    resolved = _substitute_env(data, "", missing)
    if missing:
        raise ConfigError("\n".join(missing))
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
    config.path = path
    _validate_platform_sections(config)
    user_dict = config.intelligence.user_dict_path(path.parent if path else None)
    if user_dict is not None and not user_dict.is_file():
        raise ConfigError(f"intelligence.user_dict: 找不到词典文件 {user_dict}")
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError with a readable message."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"无法读取 {p}：{exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: 不是 UTF-8 编码的文本 (not valid TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: 不是有效的 TOML (not valid TOML)：{exc}") from None
    return parse_config(data, p)
