"""Kafka subscribers of the reports service: its own view of the registry's employees and org
units, used to match the accused (the service never calls the registry)."""

from __future__ import annotations

from services.kit.consumer import EventConsumers
from services.kit.registry_view import subscribe_registry
from services.reports.store import ReportsStore


def subscribe(consumers: EventConsumers, store: ReportsStore) -> None:
    subscribe_registry(consumers, store.projection)
