"""``hotline-bot import``: register tickets from the hotline system's export, idempotently.

Each row is validated with the same schema as the intake API and registered through the same
service, so a ticket imported and later posted by the API is one ticket. A bad row never stops
the good ones.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from adapters.importer import ImportRow, RowError
from bot.app import build_context, prepare_store
from bot.config import Config
from bot.context import BotContext
from bot.import_reader import read_chunks
from bot.intake import FIELD_NAMES, TicketIn, field_errors, parse_ticket

BATCH = 500


@dataclass
class ImportSummary:
    """What an import did."""

    created: int = 0
    duplicate: int = 0
    rejected: int = 0
    problems: list[RowError] = field(default_factory=list)

    def render(self) -> str:
        """The summary printed by the CLI."""
        lines = [f"新建 created: {self.created}  重复 duplicate: {self.duplicate}  "
                 f"拒绝 rejected: {self.rejected}"]
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
                         day_end=cfg.calendar.office_day_end)
    async with aclosing(chunks):  # a failure here stops the reading process at once
        async for chunk in chunks:
            batch: list[ImportRow] = []
            for item in chunk:
                if isinstance(item, RowError):
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
    for row in batch:
        try:
            valid.append((row.line, parse_ticket(row.data)))
        except ValidationError as exc:
            for fld, reason in field_errors(exc).items():
                summary.problems.append(RowError(row.line, fld, reason))
            rejected_lines.add(row.line)
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
    """Open the store, import, close."""
    ctx = build_context(config)
    try:
        await prepare_store(ctx)
        return await import_file(ctx, path)
    finally:
        await ctx.engine.dispose()
