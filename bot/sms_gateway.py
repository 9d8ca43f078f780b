"""The SMS gateway: delivers citizen SMS from the outbox through the configured provider and
records what became of each message (sent, failed, unknown) with its ticket (利川 痕迹管理).

``install(app)`` builds the provider and its gateway (under :data:`SMS_GATEWAY`), registers the
gateway as the outbox's ``sms`` channel (the push route and the citizen page are the wiring's).

Idempotency (``docs/sms.md``: "send is not idempotent … never blind resend"): before the provider is
called the message is marked ``sending`` in its own commit; the provider's acceptance is committed
(provider id, segments) before the sender records the outbox row as sent. So a crash after the
provider accepted but before the outbox commit finds a provider id on retry and returns it
without sending again; a crash *during* the call (or a timeout) leaves ``sending``/``unknown`` and
the message is not resent blindly: the 承办人 is told to confirm by phone, and a later receipt
carrying our out id still resolves it.

Quiet hours: ``CitizenSms.queue`` (``bot/citizen_sms.py``) sets the outbox row's ``next_attempt_at`` to the end of
the window, so a message owed at night simply is not due. A retry that falls due inside the
window is put off here to the window's end (``NotYetError``: due exactly then, no attempt counted,
the citizen's rate window untouched; a jittered retry could land hours after the window ends).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.action_tokens import issue
from bot.context import CTX, BotContext
from bot.labels import error_label
from bot.messages import Destination, OutgoingMessage
from bot.outbox import Target
from bot.privacy import mask_phone
from bot.quiet_hours import quiet_until
from bot.send_errors import NotYetError, PermanentSendError, SendError, TransientSendError
from bot.sms_port import (
    SentRecord,
    SmsAccountError,
    SmsOptOutError,
    SmsSender,
    SmsTemplateError,
    SmsUnknownOutcomeError,
    is_balance_error,
    is_opt_out_error,
    normalize_cn_mobile,
)
from bot.sms_providers import build_provider
from bot.sms_trail import KIND_LABELS
from store.models import NotificationLedger, OutboxMessage, SmsMessage, SmsOptOut, Ticket

log = logging.getLogger("hotline.sms")

CITIZEN_PURPOSE = "citizen"
_ROUND_RE = re.compile(r"-r(\d+)$")


def normal_phone(phone: str) -> str:
    """The bare 11-digit mobile number, or ``phone`` unchanged when it is not a mainland mobile."""
    try:
        return normalize_cn_mobile(phone)
    except PermanentSendError:
        return (phone or "").strip()


def phone_variants(phone: str) -> list[str]:
    """Spellings under which a number may be stored (bare, +86, 86), for lookups."""
    bare = normal_phone(phone)
    return list(dict.fromkeys([bare, f"+86{bare}", f"86{bare}", phone]))


def citizen_token(ctx: BotContext, ticket_id: int, round_: int) -> str:
    """A signed, expiring token for the citizen page of one answer (ticket id and round)."""
    ttl = timedelta(days=ctx.config.sms.citizen_link_days)
    return issue(ctx.config.effective_secret, CITIZEN_PURPOSE, f"{ticket_id}:{round_}", ctx.clock.now(), ttl)


def citizen_link(ctx: BotContext, ticket_id: int, round_: int) -> str:
    """The citizen page URL under ``server.public_url``."""
    base = ctx.config.server.public_url.rstrip("/")
    return f"{base}/c/{citizen_token(ctx, ticket_id, round_)}"


def round_of(out_id: str, default: int) -> int:
    """The ticket round an out id (``t<id>-<kind>-r<round>``) was queued in."""
    match = _ROUND_RE.search(out_id)
    return int(match.group(1)) if match else default


class SmsGateway:
    """The sender's SMS channel: deliver, and record the outcome."""

    def __init__(self, ctx: BotContext, provider: SmsSender) -> None:
        self.ctx = ctx
        self.provider = provider

    # ---- delivery --------------------------------------------------------------------------

    def rate_limit(self, dest: Destination) -> tuple[int, float] | None:
        """The provider's own sending pace, when it has one."""
        fn = getattr(self.provider, "rate_limit", None)
        return fn() if fn else None

    async def deliver(self, row: OutboxMessage) -> str:
        """Send one outbox SMS row; return the provider's message id (the ``sms`` channel)."""
        ctx = self.ctx
        out_id = str(row.payload.get("out_id") or "")
        kind = str(row.payload.get("kind") or "")
        phone = str(row.destination.get("user_id") or "")
        async with ctx.sessions.begin() as s:
            sms = await message_by_out_id(s, out_id)
            if sms is None:
                raise PermanentSendError(f"短信记录 {out_id} 不存在", code="sms_missing")
            if sms.provider_id:
                # Accepted before a crash cut the outbox commit short: never send it twice.
                return sms.provider_id
            params: dict[str, str] = {}
            pending_since = sms.updated_at if sms.state in ("sending", "unknown") and self._queryable else None
            refusal = None if pending_since is not None else await self._refusal(s, sms, phone)
            if refusal is None:
                params = await self._params(s, sms, row, kind)
                refusal = self._validate(kind, params)
            if refusal is not None:
                if not refusal.transient:
                    sms.state, sms.code = ("unknown" if sms.state in ("sending", "unknown") else "failed",
                                           str(refusal.code or "")[:64])
                    sms.updated_at = ctx.clock.now()
            elif pending_since is None:
                sms.state, sms.updated_at = "sending", ctx.clock.now()
        if refusal is not None:
            raise refusal
        if pending_since is not None:
            return await self._recover(row, phone, pending_since)
        try:
            assert ctx.http is not None
            result = await self.provider.send(ctx.http, phone, kind, params, out_id)
        except SmsUnknownOutcomeError as exc:
            await self._mark(out_id, "unknown", str(exc.code or "unknown"))
            if self._queryable:  # the provider's status API will tell, at the retry
                raise NotYetError(f"{exc}；稍后向短信平台核实", code=exc.code, retry_after=self._settle) from exc
            raise PermanentSendError(f"{exc}；为免重复发送，不再自动重发", code=exc.code) from exc
        except SendError as exc:
            if is_opt_out_error(exc):
                await self._record_opt_out(phone)
            await self._mark(out_id, "queued" if exc.transient else "failed", str(exc.code or ""))
            raise
        provider_id = result.provider_id or out_id
        async with ctx.sessions.begin() as s:
            sms = await message_by_out_id(s, out_id)
            assert sms is not None
            sms.provider_id = provider_id
            sms.segments = result.segments
            if sms.state == "sending":  # a receipt carrying our out id may have overtaken us
                sms.state, sms.code = "sent", None
            sms.updated_at = ctx.clock.now()
            ticket = await s.get(Ticket, sms.ticket_id) if sms.ticket_id else None
            ctx.service.audit(s, ticket, None, "sms_sent", None, ticket.state if ticket else None,
                              ticket.state if ticket else None,
                              {"kind": kind, "provider": self.provider.name, "provider_id": provider_id,
                               "segments": result.segments, "phone": mask_phone(phone), "out_id": out_id,
                               **({"text": result.text} if result.text else {})})
        return provider_id

    @property
    def _queryable(self) -> bool:
        """Whether the provider can tell what became of a message by our out id."""
        return callable(getattr(self.provider, "query_sent", None))

    @property
    def _settle(self) -> float:
        return float(getattr(self.provider, "status_settle_seconds", 60.0))

    async def _recover(self, row: OutboxMessage, phone: str, since: datetime) -> str:
        """A send cut short (crash mid-call, lost answer): ask the provider by our out id. Its
        record settles it without a second SMS; with no record once the provider's index has
        caught up, the message never went and is sent now. Never two SMS, never none."""
        ctx = self.ctx
        out_id = str(row.payload.get("out_id") or "")
        assert ctx.http is not None
        try:
            record: SentRecord | None = await self.provider.query_sent(  # type: ignore[attr-defined]
                ctx.http, phone, out_id, since - timedelta(minutes=5))
        except SendError as exc:
            raise TransientSendError(f"向短信平台核实发送结果失败：{exc}", code="status_query_failed",
                                     retry_after=exc.retry_after) from exc
        if record is None:
            waited = (ctx.clock.now() - since).total_seconds()
            if waited < self._settle:
                raise NotYetError("短信发送结果待核实", code="outcome_pending", retry_after=self._settle - waited)
            await self._mark(out_id, "queued", "")
            log.info("sms %s: the provider has no record of it; sending it now", out_id)
            return await self.deliver(row)
        async with ctx.sessions.begin() as s:
            sms = await message_by_out_id(s, out_id)
            assert sms is not None
            sms.provider_id = record.provider_id
            sms.state, sms.code, sms.updated_at = record.state, record.code[:64] or None, ctx.clock.now()
            ticket = await s.get(Ticket, sms.ticket_id) if sms.ticket_id else None
            ctx.service.audit(s, ticket, None, "sms_sent", None, ticket.state if ticket else None,
                              ticket.state if ticket else None,
                              {"kind": sms.kind, "provider": self.provider.name, "provider_id": record.provider_id,
                               "phone": mask_phone(phone), "out_id": out_id, "recovered": record.state})
        return record.provider_id

    async def _refusal(self, s: AsyncSession, sms: SmsMessage, phone: str) -> SendError | None:
        """Why this message must not go now (unknown outcome, opted out, quiet hours), or None."""
        ctx = self.ctx
        if sms.state in ("sending", "unknown"):
            return PermanentSendError("上次发送结果未知，为免重复发送，不再自动重发", code="outcome_unknown")
        if await s.get(SmsOptOut, normal_phone(phone)) is not None:
            return SmsOptOutError("来电人已退订短信", code="opted_out")
        now = ctx.clock.now()
        until = quiet_until(now, ctx.config.sms.quiet_window, ctx.calendar.tz)
        if until is not None:
            return NotYetError("市民短信静默时段，顺延发送", code="quiet_hours",
                               retry_after=(until - now).total_seconds())
        return None

    async def _params(self, s: AsyncSession, sms: SmsMessage, row: OutboxMessage, kind: str) -> dict[str, str]:
        params = {str(k): str(v) for k, v in (row.payload.get("params") or {}).items()}
        if self.provider.carries_text:
            params["text"] = str(row.payload.get("text") or "")
        if "unit" in params and sms.ticket_id:
            # A provider with a short variable limit (Tencent: 6) sends the short name instead.
            ticket = await s.get(Ticket, sms.ticket_id)
            unit = self.ctx.directory.units.get(ticket.unit_code or "") if ticket else None
            if unit is not None and unit.short_name:
                params["unit_short"] = unit.short_name
        if (kind == "answer" and self.ctx.config.server.public_url and sms.ticket_id
                and self.provider.accepts_link(kind)):
            ticket = await s.get(Ticket, sms.ticket_id)
            round_ = round_of(sms.out_id, ticket.round if ticket else 1)
            params["link"] = citizen_link(self.ctx, sms.ticket_id, round_)
        return params

    def _validate(self, kind: str, params: dict[str, str]) -> SendError | None:
        """Check the content before any call (the provider would refuse it anyway)."""
        try:
            self.provider.validate(kind, params)
        except SendError as exc:
            return exc
        return None

    async def _mark(self, out_id: str, state: str, code: str) -> None:
        async with self.ctx.sessions.begin() as s:
            sms = await message_by_out_id(s, out_id)
            if sms is not None:
                sms.state, sms.code, sms.updated_at = state, code[:64] or None, self.ctx.clock.now()

    async def _record_opt_out(self, phone: str) -> None:
        async with self.ctx.sessions.begin() as s:
            await record_opt_out(s, phone, self.ctx.clock.now())

    # ---- sender hooks ----------------------------------------------------------------------

    async def after_send(self, s: AsyncSession, row: OutboxMessage, provider_id: str) -> None:
        """Link the message to its outbox row (state was set at acceptance)."""
        sms = await message_by_out_id(s, str(row.payload.get("out_id") or ""))
        if sms is not None:
            sms.outbox_id = row.id
            if sms.state in ("queued", "sending"):
                sms.state, sms.provider_id = "sent", provider_id or sms.provider_id

    async def after_dead(self, s: AsyncSession, row: OutboxMessage, exc: SendError) -> None:
        """The message will not go; tell the 承办人 so they can phone."""
        ctx = self.ctx
        now = ctx.clock.now()
        sms = await message_by_out_id(s, str(row.payload.get("out_id") or ""))
        if sms is not None:
            sms.outbox_id = row.id
            if sms.state != "unknown":
                sms.state = "failed"
            sms.code = str(exc.code or "")[:64] or sms.code
            sms.updated_at = now
        ticket = await s.get(Ticket, row.ticket_id) if row.ticket_id else None
        phone = str(row.destination.get("user_id") or "")
        kind = str(row.payload.get("kind") or "")
        text = failure_text(ticket, kind, phone, exc, unknown=sms is not None and sms.state == "unknown")
        ctx.service.audit(s, ticket, None, "sms_failed", None, ticket.state if ticket else None,
                          ticket.state if ticket else None,
                          {"kind": kind, "code": str(exc.code or ""), "error": str(exc)[:300],
                           "phone": mask_phone(phone)}, outcome="refused")
        tell_handler(ctx, s, ticket, text)
        if is_balance_error(exc):
            await self._alert_balance(s, exc, now)

    async def _alert_balance(self, s: AsyncSession, exc: SendError, now: datetime) -> None:
        """Out of money: tell the office once a day, not once per message."""
        slot = self.ctx.calendar.local_date(now).isoformat()
        try:
            async with s.begin_nested():
                s.add(NotificationLedger(subject="sms", kind="sms_no_balance", slot=slot, created_at=now))
        except IntegrityError:
            return
        self.ctx.outbox.add(s, Target.to_office(), OutgoingMessage(
            f"【短信通道】短信账户余额不足（{exc.code}），市民短信无法发出，请尽快充值。"
            "未发出的短信已通知各承办人电话告知来电人。"), kind="sms_balance_alert")


# ---- shared helpers --------------------------------------------------------------------------


async def message_by_out_id(s: AsyncSession, out_id: str) -> SmsMessage | None:
    """The SmsMessage of an out id (``t<id>-<kind>-r<round>``)."""
    if not out_id:
        return None
    return (await s.execute(select(SmsMessage).where(SmsMessage.out_id == out_id))).scalar_one_or_none()


async def record_opt_out(s: AsyncSession, phone: str, now: datetime) -> bool:
    """Remember that ``phone`` refuses SMS; True when it is new."""
    number = normal_phone(phone)
    if await s.get(SmsOptOut, number) is not None:
        return False
    try:
        async with s.begin_nested():
            s.add(SmsOptOut(phone=number, at=now))
    except IntegrityError:
        return False
    return True


def failure_text(ticket: Ticket | None, kind: str, phone: str, exc: SendError, *, unknown: bool = False) -> str:
    """The Chinese notice to the 承办人 when a citizen SMS will not go (number masked)."""
    number = ticket.number if ticket else "—"
    label = KIND_LABELS.get(kind, "")
    masked = mask_phone(phone)
    if isinstance(exc, SmsTemplateError) or exc.code == "template_missing":
        return (f"工单 {number} 的{label}短信未发出：{exc}。短信平台不接受该内容，请联系办公室调整短信模板，"
                f"并电话告知来电人 {masked}。")
    if is_opt_out_error(exc):
        return f"来电人 {masked} 已退订短信，工单 {number} 的{label}短信未发出，请电话告知来电人。"
    if unknown or exc.code == "outcome_unknown":
        return (f"工单 {number} 的{label}短信发送结果未知（{error_label(exc.code)}），为免重复未再重发，"
                f"请电话与来电人 {masked} 确认。")
    if isinstance(exc, SmsAccountError):
        return f"短信通道暂不可用（{error_label(exc.code)}），工单 {number} 的{label}短信未发出，请电话告知来电人 {masked}。"
    return f"工单 {number} 的{label}短信发送失败（{error_label(exc.code) or exc}），请电话告知来电人 {masked}。"


def tell_handler(ctx: BotContext, s: AsyncSession, ticket: Ticket | None, text: str) -> None:
    """Post ``text`` into the ticket's unit group, @-mentioning its 承办人; the office without a unit."""
    if ticket is None or not ticket.unit_code:
        ctx.outbox.add(s, Target.to_office(), OutgoingMessage(text), ticket_id=ticket.id if ticket else None,
                       kind="sms_notice")
        return
    handler = ctx.directory.person_by_id(ticket.handler_id)
    ctx.outbox.add(s, Target.to_unit(ticket.unit_code), OutgoingMessage(
        text, mentions=(handler.mention(),) if handler else (), ticket=ticket.key),
        ticket_id=ticket.id, kind="sms_notice")


SMS_GATEWAY: web.AppKey[SmsGateway] = web.AppKey("hotline_sms_gateway", SmsGateway)


def install(app: web.Application) -> None:
    """Build the provider and its gateway, and plug the gateway in as the ``sms`` outbox channel."""
    ctx = app[CTX]
    provider = build_provider(ctx.config.sms, clock=ctx.clock)
    gateway = SmsGateway(ctx, provider)
    app[SMS_GATEWAY] = gateway
    ctx.channels.register("sms", gateway)
