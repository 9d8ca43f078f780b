"""What provider pushes mean: delivery receipts and citizen replies.

The route (``adapters/sms/webhook.py``) verifies a push and decodes it; everything the push
carries is stored here, and what it causes (state changes, chat notices) is committed in the same
transaction *before* the provider gets its answer; a store failure answers the provider's "retry"
body so nothing is lost. Pushes may repeat (``docs/sms.md``, receipts and replies).

Receipts update the SmsMessage they name (by provider id, else our out id) and only messages we
sent: an unknown id is ignored. Replies are kept in ``sms_replies`` (unique dedupe key: a repeated
push is a no-op) and matched to the newest answer/回访 SMS *sent* to that number within
``reply_window``; only such a match lets a reply change a ticket, so a forged push for a number we
never answered changes nothing. Interpretation: 满意 / 1 → satisfied (archives), 不满意 / 2 → not
satisfied (reopens: new round, group, leader and the office's 督办 told), 认可 → recorded (archives,
``docs/design.md``, lifecycle), TD / 退订 → no more SMS to that number; free text is read by
:mod:`bot.reply_classifier` ("还没解决" is 不满意, "满意，谢谢" 满意), and a reply that stays unclear is
recorded, shown to the 承办人 and put to the office, who records the verdict with ``回访``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import BotContext
from bot.lifecycle import STATE_LABELS, Actor, LifecycleError, State, Transition, check
from bot.messages import OutgoingMessage
from bot.outbox import Target
from bot.privacy import excerpt, mask_phone, mask_text
from bot.reply_classifier import Reading, classify
from bot.sms_gateway import (
    KIND_LABELS,
    normal_phone,
    phone_variants,
    record_opt_out,
    round_of,
    tell_handler,
)
from bot.sms_port import SmsReceipt, SmsReply
from store.models import OutboxMessage, SmsMessage, SmsReplyRecord, Ticket

log = logging.getLogger("hotline.sms")

SATISFIED, UNSATISFIED, ACCEPTED, OPT_OUT = "满意", "不满意", "认可", "退订"
_SATISFIED_WORDS = frozenset({"1", "满意", "1满意", "很满意", "非常满意"})
_UNSATISFIED_WORDS = frozenset({"2", "不满意", "2不满意", "很不满意", "非常不满意"})
_OPT_OUT_WORDS = frozenset({"TD", "T", "R", "N", "退订", "退订短信", "取消订阅"})
_NOISE = re.compile(r"[\s。．.，,、！!？?~～…：:；;\"'“”‘’（）()【】\[\]]+")
_READINGS: dict[Reading, str | None] = {Reading.SATISFIED: SATISFIED, Reading.UNSATISFIED: UNSATISFIED,
                                        Reading.UNCLEAR: None}
ANSWER_KINDS = ("answer", "feedback")
SENT_STATES = ("sent", "delivered")
IN_FLIGHT_STATES = ("sending", "unknown")
"""A send cut short (killed mid-call, answer lost): the SMS may be on the phone before we know it."""
MAX_TEXT = 2000


def interpret(text: str) -> str | None:
    """满意 / 不满意 / 认可 / 退订 for a reply, None when it stays unclear.

    The template's words and codes first, then free text read as people write it
    (:func:`bot.reply_classifier.classify`).

    >>> [interpret(t) for t in ("1", " 满意。", "２", "不满意！", "认可", "td", "退订", "还没修好", "几点来？")]
    ['满意', '满意', '不满意', '不满意', '认可', '退订', '退订', '不满意', None]
    """
    word = _NOISE.sub("", unicodedata.normalize("NFKC", text or ""))
    if word.upper() in _OPT_OUT_WORDS:
        return OPT_OUT
    if word in _SATISFIED_WORDS:
        return SATISFIED
    if word in _UNSATISFIED_WORDS:
        return UNSATISFIED
    if word == ACCEPTED:
        return ACCEPTED
    return _READINGS[classify(text)]


def reply_dedupe_key(provider: str, reply: SmsReply) -> str:
    """A push's identity: provider message id when there is one, else number + time + text."""
    if reply.provider_msg_id:
        raw = f"{normal_phone(reply.phone)}|id|{reply.provider_msg_id}"
    else:
        at = reply.at.isoformat() if reply.at else ""
        raw = f"{normal_phone(reply.phone)}|{at}|{reply.extend_code}|{reply.text}"
    return f"{provider}:{hashlib.sha256(raw.encode()).hexdigest()[:48]}"


# ---- a push ------------------------------------------------------------------------------------


async def record_push(ctx: BotContext, provider: str, items: Sequence[SmsReceipt | SmsReply]) -> bool:
    """Store and apply one push's receipts and replies in one transaction; False when the store
    failed (the provider is then told to retry).

    A push may carry thousands of items: what they need from the store (the messages receipts
    name, replies already stored, the answers replies anchor to, their tickets) is read a few
    IN-queries at a time before the items are applied, and what they write is flushed together,
    so the statements do not grow one per item.
    """
    receipts = [i for i in items if isinstance(i, SmsReceipt)]
    replies = [i for i in items if not isinstance(i, SmsReceipt)]
    for attempt in range(2):
        try:
            async with ctx.sessions.begin() as s:
                found = await _messages_for(s, provider, receipts)
                await _load_tickets(s, [m.ticket_id for m in found.values()])
                for receipt in receipts:
                    await apply_receipt(ctx, s, provider, receipt, found=found)
                await _take_replies(ctx, s, provider, replies)  # its first query flushes the receipts
            return True
        except IntegrityError:
            # The same push delivered twice at once (a provider's retry overtaking the first
            # try): the other delivery stored a reply between our read and our write. Once more,
            # and the replies stored meanwhile are read as repeats.
            if attempt == 0:
                continue
            log.error("sms push from %s not stored: a reply key clashed twice", provider)
        except SQLAlchemyError as exc:
            # No traceback: a database error repeats the statement's parameters, the citizens' numbers.
            log.error("sms push from %s not stored: %s", provider, mask_text(str(exc)))
        return False
    return False


_CHUNK = 1000  # IN lists of at most this many values (SQLite binds at most 32766 variables)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i:i + _CHUNK]


async def _messages_for(s: AsyncSession, provider: str, receipts: Sequence[SmsReceipt]) -> dict[str, SmsMessage]:
    """The messages receipts name, by ``"p:" + provider id`` and ``"o:" + out id``."""
    found: dict[str, SmsMessage] = {}
    ids = list(dict.fromkeys(r.provider_id for r in receipts if r.provider_id))
    for chunk in _chunks(ids):
        for sms in (await s.execute(select(SmsMessage).where(SmsMessage.provider_id.in_(chunk),
                                                             SmsMessage.provider == provider))).scalars():
            found.setdefault(f"p:{sms.provider_id}", sms)
    out_ids = list(dict.fromkeys(r.out_id for r in receipts if r.out_id))
    for chunk in _chunks(out_ids):
        for sms in (await s.execute(select(SmsMessage).where(SmsMessage.out_id.in_(chunk)))).scalars():
            found[f"o:{sms.out_id}"] = sms
    return found


async def _load_tickets(s: AsyncSession, ids: Sequence[int | None]) -> None:
    """Bring tickets into the session at once, so later ``s.get`` calls find them there."""
    wanted = list({i for i in ids if i is not None})
    for chunk in _chunks(wanted):
        await s.execute(select(Ticket).where(Ticket.id.in_(chunk)))


# ---- receipts -----------------------------------------------------------------------------------


async def apply_receipt(ctx: BotContext, s: AsyncSession, provider: str, receipt: SmsReceipt, *,
                        found: dict[str, SmsMessage] | None = None) -> bool:
    """Update the message a receipt names; False for an unknown message or a repeated receipt.
    ``found``: the push's messages read beforehand (:func:`record_push`); else they are read here."""
    if found is None:
        found = await _messages_for(s, provider, [receipt])
    sms = found.get(f"p:{receipt.provider_id}") if receipt.provider_id else None
    if sms is None and receipt.out_id:
        sms = found.get(f"o:{receipt.out_id}")
    if sms is None or normal_phone(sms.phone) != normal_phone(receipt.phone):
        log.info("receipt for an unknown message ignored (%s, %s)", receipt.provider_id, mask_phone(receipt.phone))
        return False
    state = "delivered" if receipt.delivered else "failed"
    code = receipt.code[:64] or None
    if sms.state == "delivered" or (sms.state == state and sms.code == code):
        return False  # repeated push, or a late report after delivery was already proven
    was = sms.state
    sms.state, sms.code, sms.updated_at = state, code, ctx.clock.now()
    if not sms.provider_id and receipt.provider_id:
        sms.provider_id = receipt.provider_id  # resolves an unknown outcome
    if receipt.delivered and was in ("unknown", "failed") and sms.outbox_id:
        # It went after all (its send was cut short and given up): its outbox row counts as sent.
        await s.execute(update(OutboxMessage).where(OutboxMessage.id == sms.outbox_id, OutboxMessage.state == "dead")
                        .values(state="sent", sent_at=ctx.clock.now(), provider_message_id=sms.provider_id))
    ticket = await s.get(Ticket, sms.ticket_id) if sms.ticket_id else None
    ctx.service.audit(s, ticket, None, "sms_receipt", None, ticket.state if ticket else None,
                      ticket.state if ticket else None,
                      {"kind": sms.kind, "provider_id": sms.provider_id, "delivered": receipt.delivered,
                       "code": receipt.code, "description": receipt.description,
                       "at": receipt.at.isoformat() if receipt.at else None},
                      outcome="ok" if receipt.delivered else "refused", actor_name="短信平台")
    if not receipt.delivered:
        label = KIND_LABELS.get(sms.kind, "")
        tell_handler(ctx, s, ticket, f"工单 {ticket.number if ticket else '—'} 的{label}短信未送达"
                     f"（{receipt.code or '未知原因'}），请电话告知来电人 {mask_phone(sms.phone)}。")
    return True


# ---- replies ------------------------------------------------------------------------------------


async def _take_replies(ctx: BotContext, s: AsyncSession, provider: str, replies: Sequence[SmsReply]) -> None:
    """Store and act on a push's replies: repeats (stored before, or twice in this push) are
    dropped with one query, and the answers they reply to are read at once."""
    keyed: dict[str, SmsReply] = {}
    for reply in replies:
        keyed.setdefault(reply_dedupe_key(provider, reply), reply)
    for chunk in _chunks(list(keyed)):
        for key in (await s.execute(select(SmsReplyRecord.dedupe_key)
                                    .where(SmsReplyRecord.dedupe_key.in_(chunk)))).scalars():
            keyed.pop(key, None)
    since = ctx.clock.now() - ctx.config.sms.reply_window_delta
    anchors = await answered_messages(s, [normal_phone(r.phone) for r in keyed.values()], since)
    await _load_tickets(s, [m.ticket_id for m in anchors.values()])
    for key, reply in keyed.items():
        await take_reply(ctx, s, provider, reply, key=key, anchor=anchors.get(normal_phone(reply.phone)))


async def take_reply(ctx: BotContext, s: AsyncSession, provider: str, reply: SmsReply, *,
                     key: str | None = None, anchor: SmsMessage | None = None) -> bool:
    """Store one up-link SMS and act on it; False when it is a repeated push. With ``key`` (its
    dedupe key, known to be new) the answer it replies to is ``anchor``, read with the push."""
    now = ctx.clock.now()
    phone = normal_phone(reply.phone)
    record = SmsReplyRecord(phone=phone, text=reply.text[:MAX_TEXT], provider=provider,
                            dedupe_key=key or reply_dedupe_key(provider, reply), received_at=now)
    if key is not None:
        s.add(record)
        sms = anchor
    else:
        try:
            async with s.begin_nested():
                s.add(record)
        except IntegrityError:
            return False
        sms = await answered_message(s, phone, now - ctx.config.sms.reply_window_delta)
    verdict = interpret(reply.text)
    record.verdict = verdict
    ticket = await s.get(Ticket, sms.ticket_id) if sms is not None and sms.ticket_id else None
    record.ticket_id = ticket.id if ticket else None
    if verdict == OPT_OUT:
        await record_opt_out(s, phone, now)
        text = f"来电人 {mask_phone(phone)} 回复「{excerpt(reply.text, 200)}」，已退订短信，今后不再向其发送短信。"
        if ticket is not None:
            ctx.service.audit(s, ticket, None, "sms_opt_out", reply.text, ticket.state, ticket.state,
                              {"via": "sms"}, actor_name="来电人")
            tell_handler(ctx, s, ticket, f"工单 {ticket.number}：{text}如需回访请电话联系。")
        else:
            ctx.outbox.add(s, Target.to_office(), OutgoingMessage(text), kind="sms_notice")
        return True
    if ticket is None or sms is None:
        window = ctx.config.sms.reply_window
        ctx.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"【短信回复】来电人 {mask_phone(phone)} 回复「{excerpt(reply.text, 200)}」，近 {window} 内没有向该号码"
            "发出的答复短信，无法对应工单，请人工核实。"), kind="sms_unmatched")
        return True
    if ticket.round != round_of(sms.out_id, ticket.round):
        verdict = None  # the answer it replies to belongs to an earlier round: show it, change nothing
    await apply_citizen_verdict(ctx, s, ticket, verdict, reply.text, via="sms", phone=phone)
    return True


def _anchorable(since: datetime) -> ColumnElement[bool]:
    """An answer SMS a reply can be to: sent since ``since``, or still in flight. A reply that
    overtakes the record of its own SMS (a crash or a lost answer between the provider taking it
    and our commit) must still find its ticket, not be filed as unmatched for ever."""
    return and_(SmsMessage.kind.in_(ANSWER_KINDS), SmsMessage.created_at >= since,
                or_(and_(SmsMessage.state.in_(SENT_STATES), SmsMessage.provider_id.is_not(None)),
                    SmsMessage.state.in_(IN_FLIGHT_STATES)))


async def answered_messages(s: AsyncSession, phones: Sequence[str], since: datetime) -> dict[str, SmsMessage]:
    """:func:`answered_message` for many numbers at once, by bare number."""
    newest: dict[str, SmsMessage] = {}
    variants = list(dict.fromkeys(v for p in dict.fromkeys(phones) for v in phone_variants(p)))
    for chunk in _chunks(variants):
        q = (select(SmsMessage)
             .where(SmsMessage.phone.in_(chunk), _anchorable(since)))
        for sms in (await s.execute(q)).scalars():
            bare = normal_phone(sms.phone)
            best = newest.get(bare)
            if best is None or (sms.created_at, sms.id) > (best.created_at, best.id):
                newest[bare] = sms
    return newest


async def answered_message(s: AsyncSession, phone: str, since: datetime) -> SmsMessage | None:
    """The newest answer / 回访 SMS sent to ``phone`` since ``since`` (the reply's anchor)."""
    q = (select(SmsMessage)
         .where(SmsMessage.phone.in_(phone_variants(phone)), _anchorable(since))
         .order_by(SmsMessage.created_at.desc(), SmsMessage.id.desc()).limit(1))
    return (await s.execute(q)).scalar_one_or_none()


async def apply_citizen_verdict(ctx: BotContext, s: AsyncSession, ticket: Ticket, verdict: str | None,
                                text: str, *, via: str, phone: str) -> str:
    """Count a citizen's answer (SMS reply or citizen page) on ``ticket``; returns what happened.

    满意 / 认可 archive and 不满意 reopens when the lifecycle allows it (TicketService.feedback);
    anything else, or a verdict the ticket's state does not take, is recorded and shown to the
    承办人 in the unit group.
    """
    service = ctx.service
    handler = ctx.directory.person_by_id(ticket.handler_id)  # before a reopen clears it
    state = State(ticket.state)
    outcome = "recorded"
    if verdict in (SATISFIED, ACCEPTED, UNSATISFIED):
        transition = Transition.FEEDBACK_UNSATISFIED if verdict == UNSATISFIED else Transition.FEEDBACK_SATISFIED
        try:
            check(transition, state, {Actor.CITIZEN})
        except LifecycleError:
            outcome = "refused"
        else:
            outcome = await service.feedback(s, ticket, verdict, via=via, text=text)
    if outcome in ("recorded", "refused"):
        service.audit(s, ticket, None, "citizen_reply", text, state, state,
                      {"via": via, "verdict": verdict, "phone": mask_phone(phone)},
                      outcome="ok" if outcome == "recorded" else "refused", actor_name="来电人")
    where = "短信" if via == "sms" else "评价页面"
    said = f"来电人（{mask_phone(phone)}）通过{where}回复工单 {ticket.number}：「{excerpt(text, 200)}」"
    if outcome == "archived":
        note = f"{said}，已登记「{verdict}」，工单归档。"
    elif outcome == "reopened":
        note = f"{said}，已登记「不满意」，工单已重新交办（第{ticket.round}轮）。"
    elif outcome == "refused":
        note = f"{said}。工单当前为「{STATE_LABELS[state]}」，未登记为满意度评价，请承办人跟进。"
    else:
        note = f"{said}，已记录，请承办人跟进。"
    if outcome == "recorded" and verdict is None and state is State.ANSWERED:
        # An unclear reply: the office decides, after a phone 回访 (handlers/followup.py).
        ctx.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"【回访待定】{said}，无法判断是否满意。请电话回访后发送「回访 {ticket.number} 满意」或"
            f"「回访 {ticket.number} 不满意 原因」登记。", ticket=ticket.key),
            ticket_id=ticket.id, kind="followup_unclear")
    mentions = (handler.mention(),) if handler else ()
    if ticket.unit_code:
        ctx.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(note, mentions=mentions,
                                                                              ticket=ticket.key),
                       ticket_id=ticket.id, kind="citizen_reply")
    else:
        tell_handler(ctx, s, ticket, note)
    return outcome


__all__ = ["apply_citizen_verdict", "apply_receipt", "interpret", "record_push", "take_reply"]
