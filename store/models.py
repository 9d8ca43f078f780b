"""SQLAlchemy 2 models: tickets, units, people, audit, review requests, inbox, outbox, ledger.

All datetimes are stored timezone-aware in UTC (``UtcDateTime``) on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, one step from an aware datetime to the text SQLAlchemy's DATETIME stores
        (``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC): every ticket row binds a dozen datetimes, and the
        generic path (this decorator, then the dialect's formatter) costs twice as much."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is not UTC:
                if value.tzinfo is None:
                    raise ValueError("naive datetime given to the store")
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return process

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def twin_key(phone: str | None, content: str) -> str | None:
    """The key 重复件 share, same phone and the very same words, as one short digest: earlier
    duplicates are found through one index on it instead of comparing the text of every ticket a
    frequent caller sent (and a batch of many callers is one IN list, not phones × words)."""
    if not phone:
        return None
    return hashlib.sha256(f"{phone}\x1f{content}".encode()).hexdigest()[:32]


def _twin_key_default(context: Any) -> str | None:
    params = context.get_current_parameters()
    return twin_key(params.get("citizen_phone"), params["content"])


class Base(AsyncAttrs, DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Unit(Base):
    """承办单位, mirrored from the config on start."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent: Mapped[str | None] = mapped_column(String(64))


class Person(Base):
    """A person of the config; ``ids`` maps platform → platform user id."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mobile: Mapped[str] = mapped_column(String(32), default="")
    ids: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RoleGrant(Base):
    """A role of a person in a unit."""

    __tablename__ = "roles"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class Ticket(Base):
    """工单: one citizen request, unique on (source, number)."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("source", "number", name="uq_ticket_source_number"),
        Index("ix_ticket_state_deadline", "state", "deadline"),
        Index("ix_ticket_unit_state", "unit_code", "state"),
        # earlier 重复件 (revision 0003; replaces the phone-only index, which nothing else used)
        Index("ix_ticket_twins", "twin_key", "received_at"),
        # near-duplicate 重复件: a citizen's recent tickets, whose words are compared (revision 0011)
        Index("ix_ticket_phone_received", "citizen_phone", "received_at"),
        Index("ix_ticket_address_received", "address", "received_at"),  # 涉众 at registration
        # covering indexes of the scheduler's scans (revision 0002)
        Index("ix_ticket_scan_due", "state", "unit_code", "internal_due", "deadline", "round"),
        Index("ix_ticket_scan_contact", "state", "first_contact_at", "first_contact_due", "round", "unit_code"),
        Index("ix_ticket_scan_dispatch", "state", "dispatched_at", "unit_code"),
        # the running-clock tickets the scans also watch on days off (revision 0006)
        Index("ix_ticket_scan_clock", "clock", "state", "unit_code"),
        Index("ix_ticket_scan_report", "state", "unit_code", "progress", "last_progress_at", "tags"
              ).ddl_if(dialect="sqlite"),  # json has no btree operator class on PostgreSQL
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    content: Mapped[str] = mapped_column(Text)
    twin_key: Mapped[str | None] = mapped_column(String(32), default=_twin_key_default)
    kind: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    title: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(500))
    citizen_name: Mapped[str | None] = mapped_column(String(100))
    citizen_phone: Mapped[str | None] = mapped_column(String(32))
    citizen_address: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(24), default="registered")
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    rule: Mapped[str | None] = mapped_column(String(64))
    hotline_deadline: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    internal_due: Mapped[datetime | None]
    first_contact_due: Mapped[datetime | None]
    progress: Mapped[str | None] = mapped_column(String(32))
    max_extensions: Mapped[int] = mapped_column(default=1)
    round: Mapped[int] = mapped_column(default=1)
    dispatched_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    last_progress_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    extensions_granted: Mapped[int] = mapped_column(default=0)
    extension_state: Mapped[str | None] = mapped_column(String(16))  # pending | granted | rejected
    extension_requested_until: Mapped[datetime | None]
    extension_granted_until: Mapped[datetime | None]
    extension_applications: Mapped[int] = mapped_column(default=0, server_default="0")  # asked, granted or not
    extension_final: Mapped[bool] = mapped_column(default=False, server_default=false())  # fixed by the hotline
    assists_waived: Mapped[bool] = mapped_column(default=False, server_default=false())  # 不等配合 (office)
    feedback: Mapped[str | None] = mapped_column(String(16))  # 满意 / 不满意 / 认可 / 未评价
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reconsider_until: Mapped[datetime | None]  # 信访: the last day the citizen may ask for 复查 (revision 0008)
    urge_count: Mapped[int] = mapped_column(default=0)
    # revision 0006: "calendar" when the ticket's clock counts hours or natural days (reminded on
    # every calendar day), else None (working days)
    clock: Mapped[str | None] = mapped_column(String(16))
    lead_leader: Mapped[str | None] = mapped_column(String(100))  # 主管/包案领导 (平顶山 C/D)
    plan_at: Mapped[datetime | None]  # 平顶山 C: 前期处理情况及办理计划 reported
    supervision_level: Mapped[str | None] = mapped_column(String(16))  # 书面 | 现场 | 重点 | 移交
    supervision_at: Mapped[datetime | None]
    supervision_due: Mapped[datetime | None]
    supervision_met_at: Mapped[datetime | None]
    giveback_due: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def key(self) -> str:
        """``source/number``, the name used in card payloads and links."""
        return f"{self.source}/{self.number}"


class AuditEvent(Base):
    """痕迹: one state change or command, with who, when, the raw text and before/after."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)
    state_before: Mapped[str | None] = mapped_column(String(24))
    state_after: Mapped[str | None] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | refused
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ReviewRequest(Base):
    """A reply, extension or giveback waiting for a leader's 同意 / 驳回."""

    __tablename__ = "review_requests"
    __table_args__ = (Index("ix_review_ticket_state", "ticket_id", "state"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))  # reply | extension | giveback
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected
    round: Mapped[int] = mapped_column(default=1)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requested_at: Mapped[datetime]
    content: Mapped[str] = mapped_column(Text, default="")
    result_category: Mapped[str | None] = mapped_column(String(16))
    until: Mapped[datetime | None]
    state_before: Mapped[str | None] = mapped_column(String(24))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str | None] = mapped_column(String(16))  # extension chain: leader | office | hotline


class TicketUnit(Base):
    """A unit beside a ticket's lead unit: a 配合单位 (``assist``) or a copied parent (``copy``)."""

    __tablename__ = "ticket_units"
    __table_args__ = (
        UniqueConstraint("ticket_id", "unit_code", "round", name="uq_ticket_unit_round"),
        Index("ix_ticket_units_unit", "unit_code", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(String(16))  # assist | copy
    round: Mapped[int] = mapped_column(default=1)
    assigned_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime | None]
    report: Mapped[str | None] = mapped_column(Text)


class InboxEvent(Base):
    """A verified inbound event, committed before the platform gets its acknowledgement."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id", name="uq_inbox_platform_event"),
        Index("ix_inbox_pending", "processed_at"),
        Index("ix_inbox_chat_pending", "chat_key", "processed_at", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Events of one chat are processed in id order; the instance that wrote an event holds it
    # until claimed_until, after which any instance takes it over (its writer died).
    chat_key: Mapped[str | None] = mapped_column(String(300))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]


class OutboxMessage(Base):
    """A message the bot owes, committed with the state change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))  # chat | sms | report
    dest_key: Mapped[str] = mapped_column(String(300))
    destination: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), default="notice")
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class NotificationLedger(Base):
    """One row per reminder ever queued: (subject, kind, slot) is unique, so a scan sends it once."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("subject", "kind", "slot", name="uq_notification_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(100))  # ticket:<id> | unit:<code> | office
    kind: Mapped[str] = mapped_column(String(40))
    slot: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]


class SmsMessage(Base):
    """An SMS to a citizen and what became of it."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_phone", "phone", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    phone: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # answer | receipt | feedback
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    provider: Mapped[str] = mapped_column(String(16))
    out_id: Mapped[str] = mapped_column(String(64), unique=True)
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|sent|delivered|failed
    code: Mapped[str | None] = mapped_column(String(64))
    segments: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SmsReplyRecord(Base):
    """An up-link SMS from a citizen, matched to a ticket when possible, never dropped."""

    __tablename__ = "sms_replies"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_sms_reply_dedupe"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str | None] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]


class SmsOptOut(Base):
    """A number that answered TD / 退订: no more SMS to it."""

    __tablename__ = "sms_optout"
    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]


class LeaseRow(Base):
    """A named lease, so one instance holds a single-connection platform link or a job run."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]


class RateWindowRow(Base):
    """A destination's sliding send window, shared by every instance (``bot.ratelimit``):
    start times of its recent messages as wall-clock epoch seconds."""

    __tablename__ = "rate_windows"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    stamps: Mapped[list[Any]] = mapped_column(default=list)
    blocked_until: Mapped[float] = mapped_column(default=0.0)


class UsedToken(Base):
    """A card-button or link token already used (tokens are single-use)."""

    __tablename__ = "used_tokens"
    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime]


class SignaturePair(Base):
    """A DingTalk callback's signed header pair (``timestamp``, ``sign``) seen lately, with the
    SHA-256 of the body it came with: shared by every instance, so a captured pair cannot carry
    another body to another instance (``adapters.dingtalk.replay``). ``stamp_ms`` is the signed
    timestamp; rows older than two callback windows are pruned."""

    __tablename__ = "signature_pairs"
    __table_args__ = (Index("ix_signature_pair_stamp", "stamp_ms"),)
    bot: Mapped[str] = mapped_column(String(100), primary_key=True)
    timestamp: Mapped[str] = mapped_column(String(16), primary_key=True)
    sign: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    stamp_ms: Mapped[int] = mapped_column(BigInteger)


class Attachment(Base):
    """An image or file a person sent or uploaded: pending (no ticket yet) until a command attaches
    it. The bytes live once per content hash in the file store (``store.files``)."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachment_pending", "platform", "chat_id", "person_id", "received_at"),
        Index("ix_attachment_ticket", "ticket_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # image | file
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    received_at: Mapped[datetime]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    round: Mapped[int | None]
    purpose: Mapped[str | None] = mapped_column(String(16))  # 进展 / 答复 / 退单 / 说明
    attached_at: Mapped[datetime | None]


class TextModelRow(Base):
    """A trained category and unit suggestion model (``bot.reading``), one row per version; the
    newest row is the model in use, older ones are pruned after a successful training."""

    __tablename__ = "text_models"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(unique=True)
    trained_at: Mapped[datetime]
    score: Mapped[float | None] = mapped_column(Float)
    n_train: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
