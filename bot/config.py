"""The TOML configuration of DESIGN §4, validated by pydantic.

Errors name the key path and the reason (``units[1].chats[0].platform: …``), never a traceback.
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

from adapters.sms.registry import SmsConfig
from bot.deadlines import Rule

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Role = Literal["office", "leader", "handler"]
Platform = Literal["console", "wecom", "dingtalk", "feishu"]


class ConfigError(Exception):
    """The configuration cannot be used; the message names every bad key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(_Model):
    """``[server]``."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str = ""
    secret: str = ""  # signs card-button tokens, console cookies and citizen links; derived if empty


class StoreConfig(_Model):
    """``[store]``."""

    url: str = "sqlite+aiosqlite:///hotline.db"
    echo: bool = False


class CalendarConfig(_Model):
    """``[calendar]``."""

    timezone: str = "Asia/Shanghai"
    office_day_end: time = time(17, 30)
    office_day_start: time = time(8, 30)
    extra_holidays: list[date] = []
    extra_workdays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class RoutingRule(_Model):
    """``[[procedure.routing]]``: dispatch a new ticket to a unit when it matches."""

    unit: str
    source: str | None = None
    kind: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    keywords: list[str] | None = None  # any of them found in the content


class ProcedureConfig(_Model):
    """``[procedure]``: the preset, extra rules, routing, and who reviews."""

    preset: Literal["lichuan", "songjiang", "pingdingshan", "jilin", "xinfang"] = "songjiang"
    rules: list[Rule] = []
    routing: list[RoutingRule] = []
    office_may_review: bool = True  # the office may approve/reject like a unit's leader
    duplicate_window_days: int = Field(30, ge=0)  # same citizen + same content → 重复件


class IntakeConfig(_Model):
    """``[intake]``."""

    secret: str = Field(min_length=1)
    max_body_bytes: int = 1024 * 1024
    window_seconds: int = 300


class ApiConfig(_Model):
    """``[api]``."""

    tokens: list[str] = Field(min_length=1)

    @field_validator("tokens")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if any(not t for t in value):
            raise ValueError("a token must not be empty")
        return value


class ChatBinding(_Model):
    """One group chat of a unit: ``{platform, bot, chat_id}`` plus optional send-only robot keys."""

    platform: Platform
    bot: str = "default"
    chat_id: str
    robot_key: str = ""
    robot_token: str = ""
    robot_secret: str = ""


class UnitConfig(_Model):
    """``[[units]]``."""

    code: str = Field(min_length=1, max_length=64)
    name: str
    parent: str | None = None
    chats: list[ChatBinding] = []


class RoleBinding(_Model):
    """``roles = [{unit, role}]`` of a person."""

    unit: str
    role: Role


class PersonConfig(_Model):
    """``[[people]]``."""

    name: str = Field(min_length=1)
    mobile: str = ""
    ids: dict[str, str] = {}
    roles: list[RoleBinding] = []
    password_hash: str = ""  # console login (scrypt), see ``hotline-bot console-link``


class ConsoleConfig(_Model):
    """``[platforms.console]``: the built-in web chat."""

    enabled: bool = False
    name: str = "热线助手"
    require_login: bool = True  # the example config turns it off for a first run on 127.0.0.1
    demo_tickets: bool = False  # seed a few fictional tickets into an empty store


class PlatformsConfig(_Model):
    """``[platforms]``: one table per platform; per-bot tables are validated by each adapter."""

    console: ConsoleConfig = ConsoleConfig()
    wecom: dict[str, dict[str, Any]] = {}
    dingtalk: dict[str, dict[str, Any]] = {}
    feishu: dict[str, dict[str, Any]] = {}


class HotlineConfig(_Model):
    """``[hotline]``: where approved results are POSTed back."""

    report_url: str = ""
    report_secret: str = ""


class JobConfig(_Model):
    """``[scheduler.jobs.<job>]``."""

    enabled: bool = True
    cron: str = ""  # empty: the job's default schedule


class SchedulerConfig(_Model):
    """``[scheduler]``."""

    enabled: bool = True
    quiet_hours: str = "21:00-08:00"
    jobs: dict[str, JobConfig] = {}

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value


class ImportConfig(_Model):
    """``[import]``: the export's column headers, when they differ from the defaults."""

    headers: dict[str, str] = {}
    source: str = "12345"


class Config(_Model):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    calendar: CalendarConfig = CalendarConfig()
    procedure: ProcedureConfig = ProcedureConfig()
    intake: IntakeConfig
    api: ApiConfig
    units: list[UnitConfig] = []
    people: list[PersonConfig] = []
    platforms: PlatformsConfig = PlatformsConfig()
    hotline: HotlineConfig = HotlineConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    sms: SmsConfig = SmsConfig()
    import_: ImportConfig = Field(ImportConfig(), alias="import")
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
                problems.append(f"units[{i}].code: duplicate unit code {u.code!r}")
            seen.add(u.code)
            if u.parent is not None and u.parent not in known:
                problems.append(f"units[{i}].parent: {u.parent!r} is not a unit code")
        names: set[str] = set()
        for i, p in enumerate(self.people):
            if p.name in names:
                problems.append(f"people[{i}].name: two people are named {p.name!r}; names must be unique")
            names.add(p.name)
            for j, r in enumerate(p.roles):
                if r.unit not in known:
                    problems.append(f"people[{i}].roles[{j}].unit: unknown unit {r.unit!r}")
        for i, r in enumerate(self.procedure.routing):
            if r.unit not in known:
                problems.append(f"procedure.routing[{i}].unit: unknown unit {r.unit!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def effective_secret(self) -> bytes:
        """The key for signed tokens: ``server.secret`` or one derived from the intake secret."""
        import hashlib

        raw = self.server.secret or ("derived:" + self.intake.secret)
        return hashlib.sha256(raw.encode()).digest()


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` → (21:00, 08:00); ``""`` → None (no quiet hours)."""
    if not value:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", value.strip())
    if not m:
        raise ValueError(f"quiet hours must look like 21:00-08:00, got {value!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    return time(h1, m1), time(h2, m2)


def _substitute_env(node: Any, path: str, missing: list[str]) -> Any:
    if isinstance(node, str):
        def repl(m: re.Match[str]) -> str:
            value = os.environ.get(m.group(1), m.group(2))
            if value is None:
                missing.append(f"{path}: environment variable {m.group(1)} is not set")
                return ""
            return value
        return _ENV_REF.sub(repl, node)
    if isinstance(node, dict):
        return {k: _substitute_env(v, f"{path}.{k}" if path else k, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    return node


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}" if loc else msg)  # model-level checks name their own paths
    return "\n".join(lines)


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
    from bot.platform_config import validate_platform_sections

    validate_platform_sections(config)
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError with a readable message."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, p)
