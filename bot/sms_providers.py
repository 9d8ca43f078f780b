"""The SMS provider registry and the ``[sms]`` configuration it shapes (``docs/configuration.md``).

Each provider module (``adapters/sms/<provider>.py``) registers one :class:`SmsProviderEntry` here:
its name, the model of its ``[sms.<name>]`` section, its factory and its docs line. ``[sms]
provider`` picks an entry by name and ``[sms.<name>]`` is validated by that entry's model (a tagged
union keyed by the name), so a new provider adds its module and one import line in
``adapters/sms/__init__.py``, and a test can register its own provider without editing this file.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from bot.clock import Clock
from bot.quiet_hours import parse_quiet_hours
from bot.sms_port import (
    SmsAccountError,
    SmsOptOutError,
    SmsSender,
    SmsUnknownOutcomeError,
    is_account_error,
    is_balance_error,
    is_opt_out_error,
)

__all__ = [
    "SmsAccountError",
    "SmsConfig",
    "SmsOptOutError",
    "SmsProviderEntry",
    "SmsUnknownOutcomeError",
    "build_provider",
    "entries",
    "is_account_error",
    "is_balance_error",
    "is_opt_out_error",
    "register",
    "unregister",
]

_DURATION_RE = re.compile(r"^(\d+)([dhm])$")


def _no_problems(section: Any) -> list[str]:
    return []


@dataclass(frozen=True, slots=True)
class SmsProviderEntry:
    """One SMS provider as the configuration and the wiring know it."""

    name: str
    """The value of ``[sms] provider`` and the ``{provider}`` of ``/webhooks/sms/{provider}``."""
    factory: Callable[[Any, SmsConfig, Clock | None], SmsSender]
    """(its validated section or None, the whole ``[sms]``, a clock for tests) → the provider."""
    docs: str
    """One line for ``docs/configuration.md``: what the provider is."""
    section: type[BaseModel] | None = None
    """The model of ``[sms.<name>]``; None when the provider has no section."""
    required: tuple[str, ...] = ()
    """Section keys that must be set when this provider is chosen."""
    preflight: Callable[[Any], list[str]] = field(default=_no_problems)
    """Extra start-up checks on the section: Chinese problems naming the full key path."""


_ENTRIES: dict[str, SmsProviderEntry] = {}


def register(entry: SmsProviderEntry) -> SmsProviderEntry:
    """Add a provider; a second entry with the same name is a programming error."""
    if entry.name in _ENTRIES:
        raise ValueError(f"SMS provider {entry.name!r} is registered twice")
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a provider (for a test that registered its own)."""
    _ENTRIES.pop(name, None)


def entries() -> tuple[SmsProviderEntry, ...]:
    """Every registered provider, in registration order."""
    return tuple(_ENTRIES.values())


def entry(name: str) -> SmsProviderEntry:
    """The provider registered as ``name``; KeyError when there is none."""
    return _ENTRIES[name]


def _section_error(name: str, exc: ValidationError) -> ValidationError:
    """``exc`` with every location moved under the section's key."""
    details: list[Any] = []
    for err in exc.errors(include_url=False):
        detail: dict[str, Any] = {"type": err["type"], "loc": (name, *err["loc"]), "input": err["input"]}
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmsConfig(_Model):
    """`[sms]`: which provider sends citizen SMS, and the push and timing settings."""

    provider: str = Field("log", description="发短信的通道：log（只记日志，试用）或下方某个 [sms.<通道>] 段的名称")
    callback_token: str = Field(default="", repr=False, description="短信推送地址 /webhooks/sms/{provider} 必须带的 ?token=")
    """Required as ``?token=`` on ``POST /webhooks/sms/{provider}`` (pushes are unsigned)."""
    reply_window: str = Field("7d", description="来电人回复在短信发出后多久内算作对它的回复：Nd、Nh 或 Nm")
    """How long after an SMS a citizen reply is tied to it: Nd, Nh or Nm."""
    quiet_hours: str = Field("21:00-08:00", description="免打扰时段（北京时间），其间的短信等到结束再发；留空为立即发")
    """Citizen SMS due inside this window (Beijing time) wait until it ends; "" = send at once."""
    log_max_length: int = Field(default=35, ge=1, description="log 通道：每个变量最多几个字")
    """log provider: longest variable value it accepts."""
    log_sign_name: str = Field(default="热线助手", description=(
        "log 通道（试用，不真发）显示的短信签名，记录的短信以【签名】开头，计入字数和条数"))
    """log provider: the 签名 shown in front of the text it records (it counts in the length)."""
    callback_networks: list[str] = Field(default_factory=list, description="推送只接受来自这些网段（CIDR）；[] 为不限")
    """Source networks (CIDR) pushes must come from, besides the token; [] = any."""
    citizen_link_days: int = Field(default=7, ge=1, le=90, description="答复短信里来电人页面链接的有效天数")
    """How long the citizen page link in an answer SMS stays valid."""

    sections: dict[str, Any] = Field(default_factory=dict, exclude=True)
    """Registered provider name → its validated ``[sms.<name>]`` section (defaults when not written)."""

    @model_validator(mode="before")
    @classmethod
    def _validate_sections(cls, data: Any) -> Any:
        """Validate each ``[sms.<name>]`` with the model its provider registered."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        sections: dict[str, BaseModel] = {}
        for item in entries():
            if item.section is None:
                continue
            raw = data.pop(item.name, None)
            if isinstance(raw, item.section):
                sections[item.name] = raw
                continue
            try:
                sections[item.name] = item.section.model_validate({} if raw is None else raw)
            except ValidationError as exc:
                raise _section_error(item.name, exc) from None
        data["sections"] = sections
        return data

    @model_serializer(mode="wrap")
    def _dump_sections(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Dump the sections back under their names, as the file writes them."""
        data = handler(self)
        for name, section in self.sections.items():
            data[name] = section.model_dump(mode="json", by_alias=True)
        return data

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in _ENTRIES:
            names = "、".join(_ENTRIES)
            raise ValueError(f"应为以下之一：{names}（当前为 {value!r}）")
        return value

    @field_validator("reply_window")
    @classmethod
    def _check_window(cls, value: str) -> str:
        if not _DURATION_RE.match(value) or int(value[:-1]) <= 0:
            raise ValueError("write a duration like 7d, 48h or 90m")
        return value

    @field_validator("callback_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network: {net!r}") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @model_validator(mode="after")
    def _check_provider(self) -> SmsConfig:
        section = self.sections.get(self.provider)
        missing = [key for key in entry(self.provider).required if not getattr(section, key)]
        if missing:
            keys = "、".join(f"sms.{self.provider}.{key}" for key in missing)
            raise ValueError(f"{keys}：选用 provider = {self.provider!r} 时必须填写")
        return self

    @property
    def entry(self) -> SmsProviderEntry:
        """The registry entry of the chosen provider."""
        return entry(self.provider)

    def section(self, name: str) -> Any:
        """The validated ``[sms.<name>]`` of a registered provider (its defaults when not written)."""
        return self.sections[name]

    def preflight(self) -> list[str]:
        """The chosen provider's start-up problems (Chinese, naming the key path)."""
        return self.entry.preflight(self.sections.get(self.provider))

    @property
    def reply_window_delta(self) -> timedelta:
        """``reply_window`` as a timedelta."""
        match = _DURATION_RE.match(self.reply_window)
        assert match is not None
        unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
        return timedelta(**{unit: int(match.group(1))})

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """``quiet_hours`` as (start, end) local times, or None when off."""
        return parse_quiet_hours(self.quiet_hours)


def build_provider(config: SmsConfig, *, clock: Clock | None = None) -> SmsSender:
    """Create the provider ``config.provider`` names; ``clock`` is for tests."""
    chosen = config.entry
    return chosen.factory(config.sections.get(chosen.name), config, clock)
