"""Kafka subscribers of the signing service: its own view of the registry's employees and
org units, kept by idempotent consumers (the service never calls the registry)."""

from __future__ import annotations

from services.kit.consumer import EventConsumers
from services.kit.registry_view import subscribe_registry
from services.signing.store import SigningStore


def subscribe(consumers: EventConsumers, store: SigningStore) -> None:
    subscribe_registry(consumers, store.projection)
