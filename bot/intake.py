"""The intake body (``docs/api.md``; HTTP API and import share it) and the hotline's later events."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from bot.edge import date_problem, text_problem


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("时间必须带时区偏移，例如 2026-11-23T09:00:00+08:00")
    problem = date_problem(value)
    if problem:  # a year-1 or year-9999 date overflows the calendar's and the store's arithmetic
        raise ValueError(problem)
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class EdgeModel(BaseModel):
    """A body from outside: no string may hold a NUL byte or a lone surrogate (PostgreSQL and the
    platforms refuse both, SQLite does not), so both stores answer the same 400."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and (problem := text_problem(item)):
                raise ValueError(problem)
        return value


class CitizenIn(EdgeModel):
    """来电人: personal data, stored once on the ticket and masked wherever shown."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{3,32}$")] | None = None
    address: ShortText | None = None


class TicketIn(EdgeModel):
    """The ticket intake body. Unknown keys are rejected so a typo is never silently dropped."""

    model_config = ConfigDict(extra="forbid")
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    received_at: AwareDatetime
    content: Annotated[str, StringConstraints(min_length=1, max_length=20000)]
    kind: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    channel: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    tags: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=32)
    title: ShortText | None = None
    address: ShortText | None = None
    citizen: CitizenIn | None = None
    deadline: AwareDatetime | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None

    def content_hash(self) -> str:
        """A digest of everything the hotline sent, to tell "the same again" (200) from a conflict (409)."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["received_at"] = self.received_at.timestamp()
        if self.deadline is not None:
            data["deadline"] = self.deadline.timestamp()
        data["tags"] = sorted(set(self.tags))
        return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class TicketEventIn(EdgeModel):
    """Later news from the hotline about a ticket."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["urge", "reopen", "extension_decision", "close", "deadline", "supervise"]
    id: Annotated[str, StringConstraints(max_length=100)] | None = None  # the hotline's event id, for idempotency
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    deadline: AwareDatetime | None = None  # new deadline (reopen, extension_decision)
    granted: bool | None = None  # extension_decision: granted or refused
    level: Literal["书面", "现场", "重点", "移交"] | None = None  # supervise: the 督办 level
    at: AwareDatetime | None = None


FIELD_NAMES: dict[str, str] = {
    "source": "来源", "number": "工单编号", "received_at": "登记时间", "content": "诉求内容",
    "kind": "工单类型", "category": "类别", "channel": "渠道", "tags": "标签", "title": "标题",
    "address": "地址", "citizen": "来电人", "deadline": "限办时间", "unit": "承办单位", "type": "类型",
}

_MESSAGES = {
    "missing": "必填", "extra_forbidden": "不认识的字段", "string_too_long": "太长",
    "string_too_short": "不能为空", "datetime_parsing": "时间格式不对，应为 ISO 8601（带时区）",
    "datetime_from_date_parsing": "时间格式不对，应为 ISO 8601（带时区）",
    "string_type": "应为文本", "list_type": "应为列表", "string_pattern_mismatch": "格式不对",
    "literal_error": "取值不对", "too_long": "条目太多", "bool_type": "应为 true 或 false",
    "model_type": "应为对象", "datetime_type": "应为时间",
}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{"citizen.phone": "格式不对", ...}`` — one short Chinese reason per bad field."""
    out: dict[str, str] = {}
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(body)"
        msg = _MESSAGES.get(err["type"])
        if msg is None:
            msg = str(err.get("msg", "无效")).removeprefix("Value error, ")
        out.setdefault(path, msg)
    return out


def parse_ticket(data: Any) -> TicketIn:
    """Validate an intake body; raises pydantic.ValidationError."""
    return TicketIn.model_validate(data)
