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
from typing import TypeVar

from aiokafka.structs import ConsumerRecord  # type: ignore[import-untyped]
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
T = TypeVar("T")

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
            records = message.raw_message
            batch = list(records) if isinstance(records, tuple) else [records]
            events: list[tuple[ConsumerRecord[bytes, bytes], CloudEvent]] = []
            for record in batch:
                try:
                    event = decode_record(record.headers, record.key, record.value, topic)
                except ValueError as exc:
                    await self._dead_letter(record, dlq, group, exc)
                    continue
                if event_types is not None and event.type not in event_types:
                    self.metrics.consumed.labels(group, "skipped").inc()
                    continue
                events.append((record, event))
            if not events:
                return
            try:
                outcomes = await self._handle_batch(kafka_group, [event for _, event in events], handler)
            except ENGINE_DOWN:
                raise  # not acknowledged: Kafka redelivers the batch, and processed ids are skipped
            except Exception:  # noqa: BLE001 - find the event at fault, one at a time
                outcomes = await self._handle_one_by_one(kafka_group, group, dlq, events, handler)
            for outcome in outcomes:
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
            batch=True,
            max_records=self.settings.consumer_batch_size,
            batch_timeout_ms=100,
        )(consume)

    async def _handle_batch(self, group: str, events: list[CloudEvent], handler: EventHandler) -> list[str]:
        """All events of a poll in one transaction: a projection of a whole province is
        then bounded by MongoDB's write rate, not by one transaction per event."""
        markers = [f"{group}:{event.id}" for event in events]

        async def work(session: Session) -> list[str]:
            seen = {
                doc["_id"]
                async for doc in self.processed.find({"_id": {"$in": markers}}, {"_id": 1}, session=session)
            }
            outcomes: list[str] = []
            fresh: list[str] = []
            for marker, event in zip(markers, events, strict=True):
                if marker in seen:
                    outcomes.append("duplicate")
                    continue
                seen.add(marker)
                await handler(session, event)
                fresh.append(marker)
                outcomes.append("processed")
            if fresh:
                now = dt.datetime.now(dt.UTC)
                await self.processed.insert_many(
                    [{"_id": marker, "processed_at": now} for marker in fresh], session=session
                )
            return outcomes

        return await self._with_engine_retries(work)

    async def _handle_one_by_one(
        self,
        kafka_group: str,
        group: str,
        dlq: str,
        events: list[tuple[ConsumerRecord[bytes, bytes], CloudEvent]],
        handler: EventHandler,
    ) -> list[str]:
        outcomes: list[str] = []
        for record, event in events:
            try:
                outcomes.append(await self._handle_once(kafka_group, event, handler))
            except ENGINE_DOWN:
                raise
            except Exception as exc:  # noqa: BLE001 - this event's fault: dead-letter it, go on
                await self._dead_letter(record, dlq, group, exc)
        return outcomes

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

        try:
            return await self._with_engine_retries(work)
        except DuplicateKeyError:
            return "duplicate"

    async def _with_engine_retries(self, work: Callable[[Session], Awaitable[T]]) -> T:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ENGINE_DOWN),
            wait=wait_exponential(multiplier=0.2, max=5),
            stop=stop_after_attempt(8),
            reraise=True,
        ):
            with attempt:
                async with self.client.start_session() as session:
                    return await session.with_transaction(work)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], dlq: str, group: str, error: BaseException
    ) -> None:
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
