"""Kafka subscribers of the signing service: its own view of the registry's employees and
org units, kept by idempotent consumers (the service never calls the registry)."""

from __future__ import annotations

from contracts.envelope import CloudEvent
from contracts.topics import EMPLOYEES, ORG_UNITS
from services.kit.consumer import EventConsumers
from services.kit.mongo import Session
from services.signing.store import SigningStore

PROJECTION_GROUP = "signing.registry-projection"


def subscribe(consumers: EventConsumers, store: SigningStore) -> None:
    async def on_unit(session: Session, event: CloudEvent) -> None:
        await store.apply_unit(session, event.data["unit"])

    async def on_employee(session: Session, event: CloudEvent) -> None:
        await store.apply_employee(session, event.data["employee"])

    consumers.subscribe(ORG_UNITS.name, f"{PROJECTION_GROUP}.units", on_unit)
    consumers.subscribe(EMPLOYEES.name, f"{PROJECTION_GROUP}.employees", on_employee)
