"""``hotline-bot model evaluate`` and ``hotline-bot topics --file``: the readers judged on an
export, without a config or a store (``bot/reading``); the store-backed forms (``model train``,
``topics --from/--to``) call :mod:`bot.reading.service`."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from adapters.importer import UnreadableFile, _parse_datetime, _ParseError
from adapters.labeled_file import MissingColumn, columns, read_table, text_of
from bot.bootstrap import build_context
from bot.config import Config
from bot.preflight import ready_store
from bot.reading.evaluate import confusion_table, evaluate
from bot.reading.service import TrainOutcome, period_topics, train
from bot.reading.topics import Topic, TopicItem, topics
from bot.reading.words import office_words, place_words, read_user_dict


class ReadingFileError(ValueError):
    """The file or its columns cannot be used; the message is for the user."""


def _names(value: str) -> list[str]:
    return [n.strip() for n in value.replace("，", ",").split(",") if n.strip()]


def _table(path: str, wanted: list[str]) -> list[dict[str, str]]:
    try:
        rows = read_table(Path(path))
        columns(rows, wanted, Path(path))
    except (UnreadableFile, MissingColumn) as exc:
        raise ReadingFileError(str(exc)) from None
    return rows


def model_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Train on a stratified part of the file and score the rest (the ``--json`` object)."""
    text_columns = _names(args.text_columns)
    rows = _table(args.file, [*text_columns, args.label])
    pairs = [(text_of(r, text_columns), r.get(args.label, "")) for r in rows]
    pairs = [(t, label) for t, label in pairs if t and label]
    if len(pairs) < 4 or len({label for _, label in pairs}) < 2:
        raise ReadingFileError("有文本和标签的行太少（至少 4 行、2 个标签），无法评估。")
    if not 0 < args.train_fraction < 1:
        raise ReadingFileError("--train-fraction 应在 0 和 1 之间，如 0.7。")
    return evaluate([t for t, _ in pairs], [label for _, label in pairs],
                    train_fraction=args.train_fraction, seed=args.seed, words=_user_dict(args))


def print_evaluation(result: dict[str, Any], as_json: bool) -> None:
    """Print the evaluation: one JSON object, or a readable summary with the confusion table."""
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(f"macro-F1 {result['macro_f1']:.4f}  accuracy {result['accuracy']:.4f}  "
          f"train {result['n_train']}  test {result['n_test']}")
    print(f"training {result['train_seconds']:.2f} s, one suggestion {result['predict_ms']:.2f} ms")
    for label, f1 in result["f1"].items():
        print(f"  {label}: F1 {f1:.4f}")
    print(confusion_table(result["confusion"]))


def file_topics(args: argparse.Namespace) -> list[Topic]:
    """The topics of the rows of ``--file``."""
    text_columns = _names(args.text_columns)
    wanted = [*text_columns, *(c for c in (args.time_column, args.id_column, args.weight_column) if c)]
    rows = _table(args.file, wanted)
    items = []
    for n, row in enumerate(rows, start=2):
        text = text_of(row, text_columns)
        if not text:
            continue
        ident = row.get(args.id_column, "") if args.id_column else ""
        items.append(TopicItem(id=ident or f"第{n}行", text=text,
                               at=_when(row.get(args.time_column, "")) if args.time_column else None,
                               weight=_number(row.get(args.weight_column, "")) if args.weight_column else 0.0))
    return topics(items, top=args.top, period="month", places=_user_dict(args))


def _user_dict(args: argparse.Namespace) -> list[str]:
    """The words of ``--user-dict`` (none when not given)."""
    if not args.user_dict:
        return []
    try:
        return read_user_dict(Path(args.user_dict))
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadingFileError(f"无法读取用户词典 {args.user_dict}：{exc}") from None


def _when(text: str) -> datetime | None:
    try:
        return _parse_datetime(text) if text else None
    except (ValueError, _ParseError):
        return None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def print_topics(found: list[Topic], as_json: bool) -> None:
    """Print topics: ``{"topics": [...]}`` with ``--json``, else one block per topic."""
    if as_json:
        print(json.dumps({"topics": [t.as_json() for t in found]}, ensure_ascii=False))
        return
    if not found:
        print("这段时间没有成簇的热点（同一事项至少 2 件）。")
    for rank, t in enumerate(found, start=1):
        units = f"  承办：{'、'.join(t.units)}" if t.units else ""
        print(f"{rank}. {t.label}  {t.count} 件  热度 {t.heat:.1f}{units}")
        print(f"   关键词：{'、'.join(t.keywords)}  编号：{'、'.join(t.ids[:10])}{' …' if t.count > 10 else ''}")


async def train_from_store(config: Config) -> TrainOutcome:
    """``model train``: train from the store's history, keeping the better model."""
    ctx = build_context(config)
    try:
        await ready_store(config)
        return await train(ctx.sessions, ctx.clock.now(), config.intelligence.min_history, office_words(config),
                           max_history=config.intelligence.max_history)
    finally:
        await ctx.engine.dispose()


async def store_topics(config: Config, first: date, last: date, top: int) -> list[Topic]:
    """``topics --from --to``: the hot topics of the tickets received on those days (inclusive)."""
    ctx = build_context(config)
    zone = ctx.calendar.tz
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    try:
        await ready_store(config)
        async with ctx.sessions() as s:
            names = {code: u.name for code, u in ctx.directory.units.items()}
            return await period_topics(s, start, end, names, top=top, places=place_words(config))
    finally:
        await ctx.engine.dispose()
