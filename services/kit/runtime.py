"""What a service's store, use cases and handlers share in one process: the MongoDB client, the
Kafka broker, the outbox, the leases, the consumers and the metrics. No web framework here:
the HTTP side is assembled in kit.app."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.consumer import EventConsumers
from services.kit.kafka import kafka_client_options, kafka_security
from services.kit.leases import Leases
from services.kit.metrics import RuntimeMetrics
from services.kit.mongo import Document, Session, connect, in_transaction
from services.kit.outbox import Outbox
from services.kit.settings import ServiceSettings

T = TypeVar("T")

Hook = Callable[[], Awaitable[None]]
BackgroundTask = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Runtime:
    """Everything a service's store, api and handlers share in one process."""

    settings: ServiceSettings
    client: AsyncMongoClient[Document]
    database: AsyncDatabase[Document]
    broker: KafkaBroker
    metrics_registry: CollectorRegistry
    metrics: RuntimeMetrics
    outbox: Outbox
    leases: Leases
    consumers: EventConsumers
    instance_id: str
    topics: list[str] = field(default_factory=list)
    """The topics this service publishes or consumes, by catalog name (set by create_app)."""
    startup_hooks: list[Hook] = field(default_factory=list)
    background_tasks: list[BackgroundTask] = field(default_factory=list)

    async def commit(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run `work` in one transaction, then wake the outbox relay for the events it staged."""
        result = await in_transaction(self.client, work)
        self.outbox.notify()
        return result


def build_runtime(settings: ServiceSettings) -> Runtime:
    registry = CollectorRegistry()
    broker = KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=settings.service_name)],
        logger=logging.getLogger(f"faststream.{settings.service_name}"),
        # FastStream logs every message it receives; at DEBUG, so that INFO stays readable
        # and a projection of 500k employees does not write a million log lines.
        log_level=logging.DEBUG,
    )
    client = connect(settings)
    database = client[settings.database_name]
    metrics = RuntimeMetrics(registry)
    instance_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    return Runtime(
        settings=settings,
        client=client,
        database=database,
        broker=broker,
        metrics_registry=registry,
        metrics=metrics,
        outbox=Outbox(database),
        leases=Leases(database, instance_id),
        consumers=EventConsumers(broker, client, database, settings, metrics),
        instance_id=instance_id,
    )


async def ensure_topics(settings: ServiceSettings, names: Sequence[str]) -> None:
    """Create the missing topics, or, where topics are managed elsewhere (KAFKA_CREATE_TOPICS
    off), fail naming the missing ones: the start step retries and /readyz shows them."""
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in dict.fromkeys(names) if name not in existing]
        if missing and not settings.kafka_create_topics:
            raise RuntimeError(f"topics missing: {', '.join(missing)}")
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(name, settings.kafka_partitions, settings.kafka_replication_factor)
                    for name in missing
                ]
            )
            for topic, code, message in getattr(response, "topic_errors", []):
                if code not in (0, 36):  # 36: created meanwhile by another process
                    raise RuntimeError(f"cannot create topic {topic}: {code} {message}")
    finally:
        await admin.close()
