"""The ticket view (``docs/api.md``; read API and intake answers); citizen data masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.calendar import WorkCalendar
from bot.directory import Directory
from bot.labels import EXTENSION_LABELS
from bot.privacy import mask_name, mask_phone
from store.models import AuditEvent, SmsMessage, SmsReplyRecord, Ticket, TicketUnit


def iso(cal: WorkCalendar, when: datetime | None) -> str | None:
    """ISO 8601 with the configured zone's offset."""
    return cal.local(when).isoformat() if when is not None else None


def ticket_view(ticket: Ticket, events: list[AuditEvent], cal: WorkCalendar, directory: Directory,
                sms: list[SmsMessage] | None = None,
                sms_replies: list[SmsReplyRecord] | None = None,
                units: list[TicketUnit] | None = None) -> dict[str, Any]:
    """The public JSON of a ticket, events oldest first (newest last); ``units``: its assisting
    (配合) and copied units, of every round (the current round's are shown)."""
    handler = directory.person_by_id(ticket.handler_id)
    view: dict[str, Any] = {
        "source": ticket.source,
        "number": ticket.number,
        "kind": ticket.kind,
        "category": ticket.category,
        "channel": ticket.channel,
        "tags": list(ticket.tags or []),
        "state": ticket.state,
        "unit": ticket.unit_code,
        "handler": handler.name if handler else None,
        "round": ticket.round,
        "title": ticket.title,
        "received_at": iso(cal, ticket.received_at),
        "deadline": iso(cal, ticket.deadline),
        "internal_due": iso(cal, ticket.internal_due),
        "first_contact_due": iso(cal, ticket.first_contact_due),
        "first_contact_at": iso(cal, ticket.first_contact_at),
        "rule": ticket.rule,
        "progress": ticket.progress,
        "extension": {
            "state": ticket.extension_state,
            "requested_until": iso(cal, ticket.extension_requested_until),
            "granted_until": iso(cal, ticket.extension_granted_until),
            "label": EXTENSION_LABELS.get(ticket.extension_state or "", None),
            "applications": ticket.extension_applications,
            "final": ticket.extension_final,
        },
        "assists": [
            {"unit": u.unit_code, "role": u.role, "accepted_at": iso(cal, u.accepted_at),
             "reported_at": iso(cal, u.reported_at)}
            for u in units or () if u.round == ticket.round
        ],
        "feedback": ticket.feedback,
        "reconsider_until": iso(cal, ticket.reconsider_until),
        # issue 15: the 包案 leader, the plan stage, the 督办 level and the give-back deadline
        "lead_leader": ticket.lead_leader,
        "plan_at": iso(cal, ticket.plan_at),
        "supervision": {
            "level": ticket.supervision_level,
            "due": iso(cal, ticket.supervision_due),
            "met_at": iso(cal, ticket.supervision_met_at),
        },
        "giveback_due": iso(cal, ticket.giveback_due),
        "citizen": {"name": mask_name(ticket.citizen_name), "phone": mask_phone(ticket.citizen_phone)},
        "events": [
            {"at": iso(cal, e.at), "actor": e.actor, "action": e.action, "text": e.text,
             "state_before": e.state_before, "state_after": e.state_after, "outcome": e.outcome}
            for e in events
        ],
    }
    if sms is not None:
        view["sms"] = [
            {"kind": m.kind, "state": m.state, "code": m.code, "phone": mask_phone(m.phone),
             "provider": m.provider, "provider_id": m.provider_id, "segments": m.segments,
             "at": iso(cal, m.created_at), "updated_at": iso(cal, m.updated_at)}
            for m in sms
        ]
    if sms_replies is not None:
        view["sms_replies"] = [
            {"text": r.text, "verdict": r.verdict, "phone": mask_phone(r.phone),
             "via": "citizen_page" if r.provider == "page" else "sms", "at": iso(cal, r.received_at)}
            for r in sms_replies
        ]
    return view
