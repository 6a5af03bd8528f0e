"""Idempotent event consumers with a dead-letter topic.

Each event is handled in one MongoDB transaction that also records its id, so a
redelivered event changes nothing. An event that cannot be handled goes to the group's
dead-letter topic with the error in its headers, and the consumer moves on. When MongoDB
is unreachable the event is retried, then left uncommitted for redelivery: never dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, DuplicateKeyError, ServerSelectionTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from contracts.envelope import CloudEvent, decode_record
from contracts.topics import dead_letter_topic
from services.kit.metrics import RuntimeMetrics
from services.kit.mongo import Document, Session, ensure_index
from services.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

EventHandler = Callable[[Session, CloudEvent], Awaitable[None]]

ENGINE_DOWN = (ConnectionFailure, ServerSelectionTimeoutError)


@dataclass(frozen=True)
class DeadLetter(Exception):
    """Raise from a handler to send an event to the dead-letter topic with this reason."""

    reason: str


async def _undecoded(message: KafkaMessage) -> bytes:
    """Keep FastStream from parsing the value: a poison value must reach our handler, which
    dead-letters it, instead of failing in the framework and being redelivered forever."""
    return message.body


class EventConsumers:
    def __init__(
        self,
        broker: KafkaBroker,
        client: AsyncMongoClient[Document],
        database: AsyncDatabase[Document],
        settings: ServiceSettings,
        metrics: RuntimeMetrics,
    ) -> None:
        self.broker = broker
        self.client = client
        self.processed = database["processed_events"]
        self.settings = settings
        self.metrics = metrics
        self.dead_letter_topics: list[str] = []

    async def ensure_indexes(self) -> None:
        await ensure_index(self.processed, "processed_at", expireAfterSeconds=90 * 24 * 3600)

    def subscribe(
        self,
        topic: str,
        group: str,
        handler: EventHandler,
        event_types: Collection[str] | None = None,
    ) -> None:
        """Handle `topic` in consumer group `group`; events of other types are skipped."""
        kafka_topic = self.settings.topic(topic)
        kafka_group = self.settings.group(group)
        dlq = self.settings.topic(dead_letter_topic(group))
        self.dead_letter_topics.append(dlq)

        async def consume(message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple)
            try:
                event = decode_record(record.headers, record.key, record.value, topic)
            except ValueError as exc:
                await self._dead_letter(message, dlq, group, exc)
                return
            if event_types is not None and event.type not in event_types:
                self.metrics.consumed.labels(group, "skipped").inc()
                return
            try:
                outcome = await self._handle_once(kafka_group, event, handler)
            except ENGINE_DOWN:
                raise  # not acknowledged: Kafka redelivers it
            except Exception as exc:  # noqa: BLE001 - any other failure is this event's fault
                await self._dead_letter(message, dlq, group, exc)
                return
            self.metrics.consumed.labels(group, outcome).inc()

        self.broker.subscriber(
            kafka_topic,
            group_id=kafka_group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self.settings.kafka_rebalance_timeout_ms,
            title=f"{group}:{topic}",
            decoder=_undecoded,
        )(consume)

    async def _handle_once(self, group: str, event: CloudEvent, handler: EventHandler) -> str:
        marker = f"{group}:{event.id}"

        async def work(session: Session) -> str:
            # A failed write aborts the whole transaction, so look before inserting; a
            # concurrent twin that wins the race surfaces as DuplicateKeyError below.
            if await self.processed.find_one({"_id": marker}, {"_id": 1}, session=session):
                return "duplicate"
            await self.processed.insert_one(
                {"_id": marker, "processed_at": dt.datetime.now(dt.UTC)}, session=session
            )
            await handler(session, event)
            return "processed"

        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ENGINE_DOWN),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_attempt(8),
            reraise=True,
        ):
            with attempt:
                try:
                    async with self.client.start_session() as session:
                        return await session.with_transaction(work)
                except DuplicateKeyError:
                    return "duplicate"
        raise AssertionError("unreachable")  # pragma: no cover

    async def _dead_letter(self, message: KafkaMessage, dlq: str, group: str, error: BaseException) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)
        reason = error.reason if isinstance(error, DeadLetter) else f"{type(error).__name__}: {error}"
        headers = {
            name: raw.decode("utf-8", errors="replace") for name, raw in record.headers if raw is not None
        }
        headers.update(
            {
                "x-dlq-error": reason[:2000],
                "x-dlq-error-type": type(error).__name__,
                "x-dlq-trace": "".join(traceback.format_exception(error))[-4000:],
                "x-dlq-topic": record.topic,
                "x-dlq-partition": str(record.partition),
                "x-dlq-offset": str(record.offset),
                "x-dlq-group": group,
                "x-dlq-at": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
        await self.broker.publish(record.value or b"", topic=dlq, key=record.key, headers=headers)
        log.warning(
            "event dead-lettered",
            extra={"dlq": dlq, "error": reason[:500], "topic": record.topic, "offset": record.offset},
        )
        self.metrics.consumed.labels(group, "dead_lettered").inc()
