"""``hotline-bot import``: register tickets from the hotline system's export, idempotently.

Each row is validated with the same schema as the intake API and registered through the same
service, so a ticket imported and later posted by the API is one ticket. A bad row never stops
the good ones. The 承办单位 column may hold a unit's code or its name; an unknown unit rejects
its row (line, field and value printed), as the intake API answers 400. What is printed is
described in docs/import.md.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from adapters.import_reader import ReaderDied, read_chunks
from adapters.importer import ColumnNotice, ImportRow, RowError, UnreadableFile
from bot.bootstrap import build_context, prepare_store
from bot.config import Config
from bot.context import BotContext
from bot.intake import FIELD_NAMES, TicketIn, field_errors, parse_ticket
from bot.units import resolve_unit

BATCH = 500


class ImportFileError(Exception):
    """The file cannot be imported at all; the message is one Chinese line for the office."""


@dataclass
class ImportSummary:
    """What an import did."""

    created: int = 0
    duplicate: int = 0
    rejected: int = 0
    problems: list[RowError] = field(default_factory=list)
    unknown_columns: tuple[str, ...] = ()

    def render(self) -> str:
        """The summary printed by the CLI."""
        lines = [f"新建 created: {self.created}  重复 duplicate: {self.duplicate}  "
                 f"拒绝 rejected: {self.rejected}"]
        if self.unknown_columns:
            lines.append(f"  未识别的列（已忽略）unknown columns, ignored: {'、'.join(self.unknown_columns)}")
        for p in sorted(self.problems, key=lambda p: p.line):  # file order, whichever check found it
            label = FIELD_NAMES.get(p.field.split(".")[0], p.field)
            lines.append(f"  第 {p.line} 行 line {p.line}: {p.field}（{label}）— {p.reason}")
        return "\n".join(lines)


async def import_file(ctx: BotContext, path: Path, *, in_child: bool | None = None) -> ImportSummary:
    """Import ``path`` into the store of ``ctx`` (already prepared). A large file is read by a
    child process while this one registers (``in_child`` forces or forbids it)."""
    summary = ImportSummary()
    cfg = ctx.config
    rejected_lines: set[int] = set()
    chunks = read_chunks(path, in_child=in_child, headers=cfg.import_.headers or None,
                         default_source=cfg.import_.source, timezone=cfg.calendar.timezone,
                         day_end=cfg.calendar.office_day_end, report_unknown=True)
    async with aclosing(chunks):  # a failure here stops the reading process at once
        async for chunk in chunks:
            batch: list[ImportRow] = []
            for item in chunk:
                if isinstance(item, ColumnNotice):
                    summary.unknown_columns = item.unknown
                elif isinstance(item, RowError):
                    summary.problems.append(item)
                    rejected_lines.add(item.line)
                else:
                    batch.append(item)
            for start in range(0, len(batch), BATCH):
                await _register_batch(ctx, batch[start:start + BATCH], summary, rejected_lines)
    summary.rejected = len(rejected_lines)
    return summary


async def _register_batch(ctx: BotContext, batch: list[ImportRow], summary: ImportSummary,
                          rejected_lines: set[int]) -> None:
    valid: list[tuple[int, TicketIn]] = []
    units = ctx.directory.units.values()
    for row in batch:
        try:
            ticket = parse_ticket(row.data)
        except ValidationError as exc:
            for fld, reason in field_errors(exc).items():
                summary.problems.append(RowError(row.line, fld, reason))
            rejected_lines.add(row.line)
            continue
        if ticket.unit:
            code = resolve_unit(units, ticket.unit)
            if code is None:
                summary.problems.append(RowError(row.line, "unit", f"没有这个承办单位：{ticket.unit}"))
                rejected_lines.add(row.line)
                continue
            ticket = ticket.model_copy(update={"unit": code})  # stored and hashed by code
        valid.append((row.line, ticket))
    async with ctx.sessions.begin() as s:
        results = await ctx.service.register_many(s, [t for _, t in valid], via="import")
    for (line, _), result in zip(valid, results, strict=True):
        if result.created:
            summary.created += 1
        elif result.conflict:
            summary.problems.append(RowError(line, "number", "工单已存在且内容不同"))
            rejected_lines.add(line)
        else:
            summary.duplicate += 1


async def run_import(config: Config, path: Path) -> ImportSummary:
    """Open the store, import, close. A file that cannot be read at all raises
    :class:`ImportFileError` (one Chinese line); rows imported before that stay imported."""
    ctx = build_context(config)
    try:
        await prepare_store(ctx)
        try:
            return await import_file(ctx, path)
        except UnreadableFile as exc:
            raise ImportFileError(str(exc)) from None
        except ReaderDied as exc:
            raise ImportFileError(f"读取文件「{path.name}」失败：{exc}") from None
        except IsADirectoryError:
            raise ImportFileError(f"「{path}」是一个文件夹，请指定导出的文件。") from None
        except PermissionError:
            raise ImportFileError(f"没有权限读取文件「{path}」。") from None
        except OSError as exc:
            raise ImportFileError(f"无法读取文件「{path}」：{exc.strerror or exc}") from None
    finally:
        await ctx.engine.dispose()
