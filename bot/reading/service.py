"""The suggestion model over the store: trained from the tickets' history (their final category
and unit, so a 转办 correction teaches the model), kept in the ``text_models`` table, versioned,
replaced only by a model that scores at least as well on a hold-out of recent tickets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reading.classifier import Guess, Neighbour, TextModel
from bot.reading.evaluate import scores
from bot.reading.topics import Topic, TopicItem, topics
from store.models import AuditEvent, TextModelRow, Ticket

CATEGORY = "category"
UNIT = "unit"
HOLD_OUT = 0.2  # the newest fifth of the history judges a new model against the one in use
KEEP_VERSIONS = 2
RECHECK_SECONDS = 60.0  # how often a running bot looks for a newer model row


@dataclass(frozen=True, slots=True)
class Example:
    """A past ticket as the model learns from it."""

    key: str
    text: str
    category: str | None
    unit: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """What the model suggests for one ticket."""

    unit: Guess | None
    category: Guess | None
    similar: list[Neighbour]
    version: int


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    """What a training did: the version in use afterwards and the hold-out scores compared."""

    kept: bool
    version: int | None
    new_score: float | None
    old_score: float | None
    n_train: int
    seconds: float

    def __str__(self) -> str:
        if self.version is None:
            return f"历史工单不足（{self.n_train} 件已派单），暂不训练，也不给派单建议。"
        if self.kept:
            return (f"新模型在近期工单上得分 {self.new_score:.3f}，低于在用模型的 {self.old_score:.3f}，"
                    f"保留在用模型（版本 {self.version}）。")
        old = "无" if self.old_score is None else f"{self.old_score:.3f}"
        return (f"已训练模型版本 {self.version}：{self.n_train} 件历史工单，近期工单得分 {self.new_score:.3f}"
                f"（原模型 {old}），用时 {self.seconds:.1f} 秒。")


class _Written(Protocol):
    title: str | None
    content: str


def ticket_text(ticket: _Written) -> str:
    """The words the readers take of a ticket (or of a selected row of one): its title, a new
    line, and its content."""
    return f"{ticket.title}\n{ticket.content}" if ticket.title else ticket.content


async def history(s: AsyncSession, limit: int | None = None) -> list[Example]:
    """Dispatched tickets, oldest first, with their current (final) unit and category: the newest
    ``limit`` of them when given."""
    q = (select(Ticket.source, Ticket.number, Ticket.title, Ticket.content, Ticket.category, Ticket.unit_code)
         .where(Ticket.unit_code.is_not(None)).order_by(Ticket.received_at.desc(), Ticket.id.desc()).limit(limit))
    rows = reversed((await s.execute(q)).all())
    return [Example(f"{r.source}/{r.number}", ticket_text(r), r.category, r.unit_code) for r in rows]


def _fit(examples: list[Example], version: int, trained_at: str, words: Sequence[str]) -> TextModel:
    return TextModel.train([e.text for e in examples],
                           {UNIT: [e.unit for e in examples], CATEGORY: [e.category for e in examples]},
                           [e.key for e in examples], version=version, trained_at=trained_at, words=words)


def judge(model: TextModel, examples: list[Example]) -> float:
    """A model's score on ``examples``: accuracy of the unit, averaged with that of the category
    where the examples have one."""
    if not examples or UNIT not in model.heads:
        return 0.0
    texts = [e.text for e in examples]
    parts = [scores([e.unit for e in examples], model.predict(texts, UNIT))["accuracy"]]
    with_category = [e for e in examples if e.category]
    if with_category and CATEGORY in model.heads:
        parts.append(scores([e.category or "" for e in with_category],
                            model.predict([e.text for e in with_category], CATEGORY))["accuracy"])
    return sum(parts) / len(parts)


async def load_latest(s: AsyncSession) -> TextModel | None:
    """The newest stored model, or None (unpickled in a thread: tens of MB take a while)."""
    row = (await s.execute(select(TextModelRow.data).order_by(TextModelRow.version.desc()).limit(1))).first()
    return None if row is None else await asyncio.to_thread(TextModel.loads, row.data)


async def train(sessions: async_sessionmaker[AsyncSession], now: datetime, min_history: int,
                words: Sequence[str] = (), *, max_history: int | None = None) -> TrainOutcome:
    """Train a candidate on the history but its newest tickets, score it and the model in use on
    those, and store a model trained on the whole history when the candidate is at least as good.
    ``words`` is the user dictionary (:func:`bot.reading.words.office_words`); the history is the
    newest ``max_history`` dispatched tickets when given. The reading and the pickling run in
    threads: on thousands of tickets they take seconds the bot's requests need not wait."""
    start = time.perf_counter()
    async with sessions() as s:
        examples = await history(s, max_history)
        current = await load_latest(s)
    if len(examples) < min_history:
        return TrainOutcome(False, None, None, None, len(examples), time.perf_counter() - start)
    cut = len(examples) - max(1, int(len(examples) * HOLD_OUT))
    older, recent = examples[:cut], examples[cut:]
    candidate = await asyncio.to_thread(_fit, older, 0, "", words)
    new_score = await asyncio.to_thread(judge, candidate, recent)
    old_score = None if current is None else await asyncio.to_thread(judge, current, recent)
    if current is not None and old_score is not None and new_score < old_score:
        return TrainOutcome(True, current.version, new_score, old_score, len(examples),
                            time.perf_counter() - start)
    version = (current.version if current else 0) + 1
    model = await asyncio.to_thread(_fit, examples, version, now.isoformat(), words)
    model.score = new_score
    data = await asyncio.to_thread(model.dumps)
    async with sessions.begin() as s:
        s.add(TextModelRow(version=version, trained_at=now, score=new_score, n_train=len(examples), data=data))
        await s.flush()
        await s.execute(delete(TextModelRow).where(TextModelRow.version <= version - KEEP_VERSIONS))
    return TrainOutcome(False, version, new_score, old_score, len(examples), time.perf_counter() - start)


class ModelHolder:
    """The model in use, loaded once and reloaded when a newer version is stored (looked for at
    most every :data:`RECHECK_SECONDS`, so registering a ticket costs no extra query)."""

    def __init__(self) -> None:
        self.model: TextModel | None = None
        self._checked = -RECHECK_SECONDS

    async def current(self, s: AsyncSession) -> TextModel | None:
        """The newest model (None while the store has none)."""
        if time.monotonic() - self._checked >= RECHECK_SECONDS:
            self._checked = time.monotonic()
            newest = (await s.execute(select(func.max(TextModelRow.version)))).scalar()
            if newest is not None and (self.model is None or self.model.version != newest):
                self.model = await load_latest(s)
        return self.model

    def forget(self) -> None:
        """Look for a newer model at the next use (after ``model train`` in this process)."""
        self._checked = -RECHECK_SECONDS

    async def suggest(self, s: AsyncSession, ticket: Ticket) -> Suggestion | None:
        """The unit and category suggestion for ``ticket`` with its 3 most similar past tickets,
        or None while there is no model."""
        model = await self.current(s)
        if model is None or UNIT not in model.heads:
            return None
        # in a thread: a long ticket's words take jieba tens of milliseconds, which the other
        # requests need not wait for
        return await asyncio.to_thread(_read, model, ticket_text(ticket), ticket.key)


def _read(model: TextModel, text: str, key: str) -> Suggestion:
    """The suggestion of ``model`` for ``text``, whose ticket is ``key`` (not its own neighbour)."""
    vector = model.vector([text])
    unit = model.heads[UNIT].guess(vector)[0]
    category = model.heads[CATEGORY].guess(vector)[0] if CATEGORY in model.heads else None
    return Suggestion(unit, category, model.similar(text, 3, exclude=key, vector=vector), model.version)


async def suggested_unit(s: AsyncSession, holder: ModelHolder, ticket: Ticket) -> str | None:
    """The unit suggested for ``ticket``: the one on its card (the last ``suggest`` audit row), else
    the model's suggestion now; None while there is no model."""
    q = (select(AuditEvent.detail).where(AuditEvent.ticket_id == ticket.id, AuditEvent.action == "suggest")
         .order_by(AuditEvent.id.desc()).limit(1))
    detail = (await s.execute(q)).scalar()
    if detail and detail.get("unit"):
        return str(detail["unit"])
    found = await holder.suggest(s, ticket)
    return found.unit.label if found is not None and found.unit is not None else None


async def period_topics(s: AsyncSession, start: datetime, end: datetime, unit_names: dict[str, str], *,
                        top: int = 10, places: Sequence[str] = ()) -> list[Topic]:
    """The hot topics of the tickets received in [``start``, ``end``), the period of the same
    length before giving their growth; ``places`` are the office's own place names."""
    previous = await _items(s, start - (end - start), start, unit_names)
    return topics(await _items(s, start, end, unit_names), previous=previous, top=top, places=places)


async def _items(s: AsyncSession, start: datetime, end: datetime, unit_names: dict[str, str]) -> list[TopicItem]:
    q = (select(Ticket.source, Ticket.number, Ticket.title, Ticket.content, Ticket.received_at, Ticket.citizen_phone,
                Ticket.tags, Ticket.unit_code, Ticket.feedback)
         .where(Ticket.received_at >= start, Ticket.received_at < end).order_by(Ticket.received_at, Ticket.id))
    return [TopicItem(id=f"{r.source}/{r.number}", text=ticket_text(r), at=r.received_at,
                      citizen=r.citizen_phone, tags=tuple(r.tags or ()),
                      unit=unit_names.get(r.unit_code, r.unit_code) if r.unit_code else None,
                      dissatisfied=r.feedback == "不满意")
            for r in (await s.execute(q)).all()]


def topic_lines(found: list[Topic], limit: int = 5) -> list[str]:
    """Chinese lines for a report: ``热点 1：路灯、损坏（人民路）5 件，热度 9.5，较上期 +2，承办 城管局``.
    The weekly analysis and the monthly report call :func:`period_topics` and this."""
    lines = []
    for rank, t in enumerate(found[:limit], start=1):
        growth = f"，较上期 {t.growth:+d}" if t.growth else ""
        units = f"，承办 {'、'.join(t.units[:3])}" if t.units else ""
        lines.append(f"热点 {rank}：{t.label} {t.count} 件，热度 {t.heat:.1f}{growth}{units}")
    return lines
