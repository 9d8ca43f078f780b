"""The configuration reference, generated from the config models: ``docs/configuration.md``.

Regenerate it after changing a config model::

    python -m bot.config_docs > docs/configuration.md

Every section of the TOML file is one table (key, type, default, required, description); the
descriptions are the models' ``Field(description=...)``. The per-platform bot tables are the
registered platforms' own models (``bot.platforms``).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot import plugins as plugins  # registers the built-in platforms, SMS providers, commands
from bot.config import ChatBinding, Config, PlatformsConfig
from bot.platforms import platform, platform_names, platforms
from bot.sms_providers import SmsConfig
from bot.sms_providers import entries as sms_entries

REGENERATE = "python -m bot.config_docs > docs/configuration.md"

# What stands for the free key of a ``dict[str, Model]`` table, by field name.
_PLACEHOLDERS = {"jobs": "<job>", "years": "<year>"}


@dataclass(frozen=True)
class Section:
    """One table of the TOML file and the model that validates it."""

    header: str  # as written in TOML, e.g. "[scheduler.jobs.<job>]" or "[[units]]"
    model: type[BaseModel]
    description: str


def config_key(name: str, info: FieldInfo) -> str:
    """The key as written in the file (``import`` for ``import_``)."""
    return info.alias or name


def documented_fields(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo]]:
    """The fields of ``model`` that are keys of the file (not ``exclude``-d runtime fields); for
    ``[platforms]``, also one ``<name>`` table per registered chat platform."""
    for name, info in model.model_fields.items():
        if not info.exclude:
            yield config_key(name, info), info
    if model is PlatformsConfig:
        for name in platform_names():
            yield name, FieldInfo(annotation=dict[str, dict[str, Any]], default={},
                                  description=platform(name).docs)
    if model is ChatBinding:
        yield from _chat_option_fields().items()


def _chat_option_fields() -> dict[str, FieldInfo]:
    """The registered platforms' own chat-binding keys; a key two platforms share is listed once,
    with each platform's description."""
    fields: dict[str, FieldInfo] = {}
    for spec in platforms():
        for key, info in (spec.chat_options.model_fields if spec.chat_options else {}).items():
            text = f"{spec.name}：{info.description or ''}"
            if key in fields:
                text = f"{fields[key].description}；{text}"
            fields[key] = FieldInfo(annotation=info.annotation, default=info.default, description=text)
    return fields


def _unwrap_optional(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _model_of(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """``("table" | "array" | "map", Model)`` when the field holds a sub-model."""
    annotation = _unwrap_optional(annotation)
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table", annotation
    args = get_args(annotation)
    if origin is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return "array", args[0]
    if origin is dict and len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return "map", args[1]
    return None


def sections(root: type[BaseModel] = Config, links: dict[tuple[type[BaseModel], str], str] | None = None,
             ) -> list[Section]:
    """Every table reachable from the root model, depth first, in field order; ``links``, when
    given, receives (model, key) → the header of the table that key holds."""
    found: list[Section] = [Section("（顶层 / top level）", root, "配置文件的各段")]
    links = {} if links is None else links

    def walk(model: type[BaseModel], prefix: str, array_parent: str | None) -> None:
        for key, info in documented_fields(model):
            if model is PlatformsConfig and key in platform_names():
                header = f"[platforms.{key}.<bot>]"
                sub = platform(key).config_model
                links[model, key] = header
                found.append(Section(header, sub, info.description or ""))
                walk(sub, f"platforms.{key}.<bot>", None)
                continue
            held = _model_of(info.annotation)
            if held is None:
                continue
            kind, sub = held
            dotted = f"{prefix}.{key}" if prefix else key
            if array_parent is not None:  # a table inside an array of tables: inline tables
                header = f"[[{array_parent}]] {key} = [{{ … }}]" if kind == "array" else f"[[{array_parent}]] {key}"
            elif kind == "array":
                header = f"[[{dotted}]]"
            elif kind == "map":
                header = f"[{dotted}.{_PLACEHOLDERS.get(key, '<name>')}]"
            else:
                header = f"[{dotted}]"
            links[model, key] = header
            found.append(Section(header, sub, info.description or ""))
            if kind == "array" and array_parent is None:
                walk(sub, dotted, dotted)
            elif kind == "map":
                walk(sub, f"{dotted}.{_PLACEHOLDERS.get(key, '<name>')}", array_parent)
            else:
                walk(sub, dotted, array_parent)
        if model is SmsConfig:  # [sms.<provider>]: one table per registered provider
            for item in sms_entries():
                if item.section is not None:
                    found.append(Section(f"[{prefix}.{item.name}]", item.section, item.docs))
                    walk(item.section, f"{prefix}.{item.name}", array_parent)

    walk(root, "", None)
    return found


def _type_name(annotation: Any) -> str:
    annotation = _unwrap_optional(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " | ".join(json.dumps(a, ensure_ascii=False) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type_name(args[0])} → {_type_name(args[1])}" if args else "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", date: "date (YYYY-MM-DD)",
             time: 'time ("HH:MM")', Path: "path"}
    if annotation is Any:
        return "any"
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, time):
        return f'"{value.strftime("%H:%M")}"'
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if text.replace("_", "").replace("-", "").isalnum() and text.isascii() else json.dumps(text)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "—"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "（不写 / unset）"
    if isinstance(value, BaseModel):
        return "（见下 / see below）"
    return f"`{_toml_value(value)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole ``docs/configuration.md``."""
    out = [
        "# 配置参考 / Configuration reference",
        "",
        "<!-- Generated from the config models. Do not edit: run "
        f"`{REGENERATE}` -->",
        "",
        "本文由配置模型自动生成，列出配置文件（TOML）的每一段、每一个键：类型、默认值、是否必填和说明。"
        "修改配置模型后运行下面的命令重新生成：",
        "",
        f"This file is generated from the pydantic config models; regenerate it with `{REGENERATE}`.",
        "",
        "- 没写的键取默认值；“必填”的键必须写。",
        "- 密钥可以写成 `${ENV_VAR}`（未设置则报错）或 `${ENV_VAR:-默认值}`。",
        "- 写错的键会让 `hotline-bot check -c CONFIG` 报出键的路径和原因，"
        "如 `units[1].chats[0].platform: 应为以下之一：console、wecom、dingtalk、feishu`。",
        "- 完整可运行的示例见仓库根目录的 `config.example.toml`；运维相关（日历、数据库、备份）见 `docs/operations.md`。",
        "",
        "## 目录 / Sections",
        "",
    ]
    links: dict[tuple[type[BaseModel], str], str] = {}
    found = sections(links=links)
    for s in found:
        out.append(f"- `{s.header}` {s.description}".rstrip())
    for s in found:
        out += ["", f"## `{s.header}`", ""]
        if s.description:
            out += [s.description, ""]
        out += ["| 键 key | 类型 type | 默认值 default | 必填 required | 说明 description |",
                "|---|---|---|---|---|"]
        for key, info in documented_fields(s.model):
            required = "是" if info.is_required() else "否"
            held = links.get((s.model, key))
            kind = f"→ `{held}`" if held else _cell(_type_name(info.annotation))
            out.append(f"| `{key}` | {kind} | {_cell(_default(info))} | "
                       f"{required} | {_cell(info.description or '')} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the reference (or write it with ``-o FILE``)."""
    parser = argparse.ArgumentParser(prog="python -m bot.config_docs", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    text = render()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.reconfigure(encoding="utf-8", newline="\n")  # type: ignore[union-attr]
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
