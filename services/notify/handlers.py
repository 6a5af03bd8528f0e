"""Kafka subscribers of the notify service: contacts from the registry, reporters' sealed
contacts from reports, and every event a rule reacts to (it never calls another service)."""

from __future__ import annotations

from contracts.envelope import CloudEvent
from contracts.topics import CATALOG, PLEDGES, REPORT_CASES, REPORTER_CONTACTS
from services.kit.consumer import EventConsumers
from services.kit.mongo import Session
from services.kit.polling import Wakeup
from services.kit.registry_view import RegistryProjection, subscribe_registry
from services.notify.usecases import NotifyUseCases


def subscribe(
    consumers: EventConsumers, usecases: NotifyUseCases, registry: RegistryProjection, dispatch: Wakeup
) -> None:
    """Every topic notify reads, in its one consumer group. Planning only writes deliveries;
    sending is the dispatcher's, so a slow channel never holds back the consumer."""
    subscribe_registry(consumers, registry)

    async def on_contact(session: Session, event: CloudEvent) -> None:
        await usecases.keep_reporter_contact(session, event.data)

    async def on_event(session: Session, event: CloudEvent) -> None:
        if await usecases.plan(session, event.id, event.type, event.data):
            dispatch.set()

    consumers.route(REPORTER_CONTACTS.name, on_contact)
    consumers.route(PLEDGES.name, on_event)
    consumers.route(REPORT_CASES.name, on_event)

    async def on_public(session: Session, event: CloudEvent) -> None:
        if await usecases.plan_public(session, event):
            dispatch.set()

    for topic in CATALOG:
        if topic.public:
            consumers.route(topic.name, on_public)
