"""A service's own copy of the registry's org units and employees, fed by registry events.

Services never call the registry: they keep the fields they need from its snapshots, which
carry a version, so a late or redelivered older snapshot never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from contracts.envelope import CloudEvent
from contracts.topics import EMPLOYEES, ORG_UNITS
from services.kit.consumer import EventConsumers
from services.kit.mongo import Document, Session

SnapshotHandler = Callable[[Session, dict[str, Any]], Awaitable[None]]


async def upsert_if_newer(
    collection: AsyncCollection[Document],
    session: Session,
    key: str,
    version: int,
    fields: Document,
    on_insert: Document | None = None,
) -> bool:
    """Store `fields` (with `version`) under `key` unless a snapshot as new is already there."""
    current = await collection.find_one({"_id": key}, {"version": 1}, session=session)
    if current is not None and current["version"] >= version:
        return False
    update: Document = {"$set": {**fields, "version": version}}
    if on_insert:
        update["$setOnInsert"] = on_insert
    await collection.update_one({"_id": key}, update, upsert=True, session=session)
    return True


def subscribe_registry(
    consumers: EventConsumers, on_unit: SnapshotHandler, on_employee: SnapshotHandler
) -> None:
    """Route the registry's two topics into the service's consumer group."""

    async def unit_event(session: Session, event: CloudEvent) -> None:
        await on_unit(session, event.data["unit"])

    async def employee_event(session: Session, event: CloudEvent) -> None:
        await on_employee(session, event.data["employee"])

    consumers.route(ORG_UNITS.name, unit_event)
    consumers.route(EMPLOYEES.name, employee_event)
