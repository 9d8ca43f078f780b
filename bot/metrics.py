"""Prometheus metrics, one registry per app so tests do not share counters."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Every metric the bot exports on ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.tickets_by_state = Gauge(
            "hotline_tickets", "Tickets by state", ["state"], registry=r)
        self.intake_latency = Histogram(
            "hotline_intake_seconds", "Ticket intake latency", ["outcome"], registry=r,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
        self.intake_total = Counter(
            "hotline_intake_total", "Ticket intake requests by answer", ["status"], registry=r)
        self.outbox_depth = Gauge(
            "hotline_outbox_depth", "Outbox rows waiting to be sent", ["channel"], registry=r)
        self.outbox_sent = Counter(
            "hotline_outbox_sent_total", "Outbox rows delivered", ["channel"], registry=r)
        self.outbox_failed = Counter(
            "hotline_outbox_failed_total", "Outbox delivery attempts that failed",
            ["channel", "kind"], registry=r)
        self.outbox_dead = Counter(
            "hotline_outbox_dead_total", "Outbox rows dead-lettered", ["channel"], registry=r)
        self.webhook_rejected = Counter(
            "hotline_webhook_rejected_total", "Inbound callbacks refused",
            ["platform", "reason"], registry=r)
        self.inbox_events = Counter(
            "hotline_inbox_events_total", "Inbound events by outcome",
            ["platform", "outcome"], registry=r)
        self.commands = Counter(
            "hotline_commands_total", "Chat commands by name and outcome",
            ["command", "outcome"], registry=r)
        self._intake: dict[int, tuple[Any, Any]] = {}

    def intake_answered(self, status: int, seconds: float) -> None:
        """Count one intake answer with its latency; the labelled children are looked up once per
        status, not on every request."""
        children = self._intake.get(status)
        if children is None:
            label = str(status)
            children = self._intake[status] = (self.intake_total.labels(label), self.intake_latency.labels(label))
        children[0].inc()
        children[1].observe(seconds)


DEFAULT_METRICS = Metrics()
"""Used by code running outside an app (CLI commands, unit tests of adapters)."""
