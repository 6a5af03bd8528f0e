"""Kafka subscribers of the notify service: contacts from the registry, reporters' sealed
contacts from reports, and every event a rule reacts to (it never calls another service)."""

from __future__ import annotations

from contracts.envelope import CloudEvent
from contracts.topics import CATALOG, PLEDGES, REPORT_CASES, REPORTER_CONTACTS
from services.kit.consumer import EventConsumers
from services.kit.leases import Wakeup
from services.kit.mongo import Session
from services.kit.registry_view import subscribe_registry
from services.notify.store import NotifyStore

GROUP = "notify"


def subscribe(consumers: EventConsumers, store: NotifyStore, dispatch: Wakeup) -> None:
    subscribe_registry(consumers, f"{GROUP}.registry-contacts", store.apply_unit, store.apply_employee)

    async def on_contact(session: Session, event: CloudEvent) -> None:
        await store.apply_reporter_contact(session, event.data)

    async def on_event(session: Session, event: CloudEvent) -> None:
        if await store.plan(session, event.id, event.type, event.data):
            dispatch.set()

    consumers.subscribe(REPORTER_CONTACTS.name, f"{GROUP}.reporter-contacts", on_contact)
    consumers.subscribe(PLEDGES.name, f"{GROUP}.pledges", on_event)
    consumers.subscribe(REPORT_CASES.name, f"{GROUP}.cases", on_event)

    async def on_public(session: Session, event: CloudEvent) -> None:
        if await store.plan_public(session, event):
            dispatch.set()

    for topic in CATALOG:
        if topic.public:
            consumers.subscribe(topic.name, f"{GROUP}.agencies.{topic.name}", on_public)
