"""A service's registry projection believes only the registry: a snapshot from another source,
or with a version no registry would write, is dead-lettered and never freezes the record."""

from __future__ import annotations

from typing import Any

from faststream.kafka import KafkaBroker

from contracts.envelope import CloudEvent, new_event
from contracts.registry import EmployeeSnapshot, EmployeeUpdatedV1
from contracts.topics import EMPLOYEES, dead_letter_topic
from services.kit.registry_view import MAX_VERSION_STEP, RegistryProjection, subscribe_registry
from services.kit.runtime import build_runtime, ensure_topics
from services.kit.settings import ServiceSettings
from tests.kafka_reader import read_topic, wait_for

EMPLOYEE = "199001012020011001"


def updated(version: int, unit: str, source: str = EMPLOYEES.source) -> CloudEvent:
    snapshot = EmployeeSnapshot(
        employee_id=EMPLOYEE,
        nip=EMPLOYEE,
        name="Rina Lestari",
        employment_type="PNS",
        position="Analis",
        level="STAFF",
        org_unit_code=unit,
        org_unit_path=["32", "32.01"],
        supervisor_nip=None,
        email="rina@example.go.id",
        phone=None,
        active=True,
        version=version,
    )
    return new_event(EmployeeUpdatedV1(employee=snapshot, changed=["org_unit_code"]), source)


async def test_forged_or_absurd_versions_are_dead_lettered_and_the_projection_moves_on(
    settings_kwargs: dict[str, Any],
) -> None:
    settings = ServiceSettings(service_name="kit-view", **settings_kwargs)
    runtime = build_runtime(settings)
    employees = runtime.database["employees"]
    subscribe_registry(runtime.consumers, RegistryProjection(employees, ("org_unit_code",)))
    runtime.consumers.attach()
    await ensure_topics(settings, [settings.topic(EMPLOYEES.name), *runtime.consumers.dead_letter_topics])
    await runtime.consumers.ensure_indexes()
    await runtime.broker.start()
    producer = KafkaBroker(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        events = [
            updated(1, "32.01.001"),
            updated(1_000_000_000_000, "32.99.999"),  # would freeze the record for good
            updated(1 + MAX_VERSION_STEP + 1, "32.99.998"),  # far beyond the one kept
            updated(5, "32.99.997", source="/netral/reports"),  # not the registry
            updated(2, "32.01.002"),
        ]
        for event in events:
            await producer.publish(
                event.kafka_value(),
                settings.topic(EMPLOYEES.name),
                key=event.key.encode(),
                headers=event.kafka_headers(),
            )

        async def moved_on() -> bool:
            doc = await employees.find_one({"_id": EMPLOYEE})
            return doc is not None and doc["version"] == 2

        await wait_for(moved_on, timeout=60)
        dead = await read_topic(
            settings.kafka_bootstrap_servers,
            settings.topic(dead_letter_topic(runtime.consumers.group)),
            lambda records: len(records) >= 3,
        )
        kept = await employees.find_one({"_id": EMPLOYEE})
    finally:
        await producer.stop()
        await runtime.broker.stop()
        await runtime.client.close()
    assert kept is not None and (kept["org_unit_code"], kept["version"]) == ("32.01.002", 2)
    letters = [{name: value.decode() for name, value in record.headers} for record in dead]
    assert sorted(letter["x-dlq-error-type"] for letter in letters) == [
        "ForeignSource",
        "VersionOutOfBounds",
        "VersionOutOfBounds",
    ]
    for record, letter in zip(dead, letters, strict=True):
        # Nothing of the employee travels to the dead-letter topic.
        text = repr(record.headers).encode() + (record.value or b"")
        assert b"Rina" not in text and EMPLOYEE.encode() not in text and b"example.go.id" not in text
        assert letter["x-dlq-topic"] == settings.topic(EMPLOYEES.name)
