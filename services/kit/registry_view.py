"""A service's own copy of the registry's org units and employees, fed by registry events.

Services never call the registry: they keep the fields they need from its snapshots, which
carry a version, so a late or redelivered older snapshot never overwrites a newer one. A version
out of bounds is dead-lettered instead: stored, it would freeze the record against every real
snapshot after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from contracts.envelope import CloudEvent
from contracts.topics import EMPLOYEES, ORG_UNITS
from services.kit.consumer import DeadLetter, EventConsumers
from services.kit.mongo import Document, Session

MAX_VERSION = 1_000_000_000
"""No record is changed a billion times: a version beyond is a forgery or a bug."""
MAX_VERSION_STEP = 10_000
"""How far a snapshot may run ahead of the one kept. The registry adds one per change, and a
projection sees every change of a record (the topics are not compacted): a larger jump is not
a snapshot we missed, it is one we must not believe."""


class VersionOutOfBounds(DeadLetter):
    """A snapshot whose version no registry would have written."""


def check_version(version: object, current: int | None) -> int:
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise VersionOutOfBounds(f"version is not an integer between 1 and {MAX_VERSION}")
    if current is not None and version > current + MAX_VERSION_STEP:
        raise VersionOutOfBounds(f"version runs more than {MAX_VERSION_STEP} ahead of the one kept")
    return version


async def upsert_if_newer(
    collection: AsyncCollection[Document],
    session: Session,
    key: str,
    version: int,
    fields: Document,
    on_insert: Document | None = None,
) -> bool:
    """Store `fields` (with `version`) under `key` unless a snapshot as new is already there.
    Raises VersionOutOfBounds (a dead letter) for a version no registry would have written."""
    current = await collection.find_one({"_id": key}, {"version": 1}, session=session)
    check_version(version, current["version"] if current is not None else None)
    if current is not None and current["version"] >= version:
        return False
    update: Document = {"$set": {**fields, "version": version}}
    if on_insert:
        update["$setOnInsert"] = on_insert
    await collection.update_one({"_id": key}, update, upsert=True, session=session)
    return True


@dataclass(frozen=True)
class RegistryProjection:
    """One service's copy of the registry: which snapshot fields it keeps, per service."""

    employees: AsyncCollection[Document]
    employee_fields: tuple[str, ...]
    units: AsyncCollection[Document] | None = None
    """None: the service keeps no units (it finds what it needs by the employee's unit path)."""
    unit_fields: tuple[str, ...] = ("name", "kind", "parent_code", "path")
    with_lineage: bool = False
    """Also keep `lineage`, the unit path with the unit itself: one index finds everyone below a unit."""
    derived: Callable[[dict[str, Any]], Document] | None = None
    """More fields computed from the employee snapshot (say, search tokens of the name)."""
    on_insert: Document | None = None

    async def apply_unit(self, session: Session, unit: dict[str, Any]) -> None:
        if self.units is None:
            return
        fields = {key: unit[key] for key in self.unit_fields}
        await upsert_if_newer(self.units, session, unit["code"], unit["version"], fields)

    async def apply_employee(self, session: Session, employee: dict[str, Any]) -> None:
        fields: Document = {key: employee[key] for key in self.employee_fields}
        if self.with_lineage:
            fields["lineage"] = [*employee["org_unit_path"], employee["org_unit_code"]]
        if self.derived is not None:
            fields |= self.derived(employee)
        await upsert_if_newer(
            self.employees, session, employee["employee_id"], employee["version"], fields, self.on_insert
        )


def subscribe_registry(consumers: EventConsumers, projection: RegistryProjection) -> None:
    """Route the registry's two topics into the service's consumer group."""

    async def unit_event(session: Session, event: CloudEvent) -> None:
        await projection.apply_unit(session, event.data["unit"])

    async def employee_event(session: Session, event: CloudEvent) -> None:
        await projection.apply_employee(session, event.data["employee"])

    consumers.route(ORG_UNITS.name, unit_event)
    consumers.route(EMPLOYEES.name, employee_event)
