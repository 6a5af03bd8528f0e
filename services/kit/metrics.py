"""Prometheus metrics of the shared runtime. Each app owns one registry so that several
apps can live in one test process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.outbox_oldest_pending_seconds = Gauge(
            "netral_outbox_oldest_pending_seconds",
            "Age of the oldest event written to the outbox and not yet published",
            registry=registry,
        )
        self.outbox_pending = Gauge(
            "netral_outbox_pending_events",
            "Events in the outbox waiting to be published (sampled by the relay)",
            registry=registry,
        )
        self.outbox_published = Counter(
            "netral_outbox_published_events",
            "Events the relay published to Kafka",
            ["topic"],
            registry=registry,
        )
        self.consumed = Counter(
            "netral_consumer_events",
            "Events seen by idempotent consumers, by outcome",
            ["group", "outcome"],
            registry=registry,
        )
