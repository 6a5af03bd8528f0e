"""Idempotent event consumers with a dead-letter topic: one consumer group per service.

Each event is handled in one MongoDB transaction that also records its id, so a
redelivered event changes nothing. An event that cannot be handled goes to the group's
dead-letter topic with the error in its headers, and the consumer moves on. When MongoDB
is unreachable the event is retried, then left uncommitted for redelivery: never dropped.

Only the topic's owner may speak on it: a record whose `ce_source` is not the owner's
(contracts.topics) is dead-lettered unread. Dead letters carry no payload, key or traceback,
only a reference to the source record (topic, partition, offset), from which it is replayed.
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

from contracts.envelope import CloudEvent, EnvelopeError, decode_record
from contracts.topics import BY_NAME, dead_letter_topic
from services.kit.metrics import RuntimeMetrics
from services.kit.mongo import Document, Session, ensure_index
from services.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

EventHandler = Callable[[Session, CloudEvent], Awaitable[None]]
T = TypeVar("T")

ENGINE_DOWN = (ConnectionFailure, ServerSelectionTimeoutError)
OUTCOMES = ("processed", "duplicate", "skipped", "dead_lettered")


@dataclass(frozen=True)
class DeadLetter(Exception):
    """Raise from a handler to send an event to the dead-letter topic with this reason. The
    reason is copied into the dead letter and the log: it must name no value of the event."""

    reason: str


class ForeignSource(DeadLetter):
    """A record on a topic whose `ce_source` is not the topic's owner."""


# A dead letter's text: what our own code wrote (value-free by rule), else the class name alone,
# because a library's message (a validation error, a KeyError) may quote the event's values.
OWN_MESSAGES = (DeadLetter, EnvelopeError)
MESSAGE_CHARS = 300
HEADER_CHARS = 200
# Of the source record's headers, only these identify the event without saying anything of it.
REFERENCE_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_specversion", "ce_time")


def dead_letter_reason(error: BaseException) -> str:
    if isinstance(error, DeadLetter):
        return error.reason[:MESSAGE_CHARS]
    if isinstance(error, OWN_MESSAGES):
        return f"{type(error).__name__}: {error}"[:MESSAGE_CHARS]
    return type(error).__name__


def error_location(error: BaseException) -> str:
    """Where it was raised (file:line in function): enough to find the bug, no value in it."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"[:HEADER_CHARS]


@dataclass(frozen=True)
class Routed:
    record: ConsumerRecord[bytes, bytes]
    event: CloudEvent
    handler: EventHandler


async def _undecoded(message: KafkaMessage) -> bytes:
    """Keep FastStream from parsing the value: a poison value must reach our handler, which
    dead-letters it, instead of failing in the framework and being redelivered forever."""
    return message.body


@dataclass(frozen=True)
class Route:
    """Where the records of one topic go: a handler, and the event types it takes."""

    topic: str
    handler: EventHandler
    event_types: Collection[str] | None
    source: str
    """The only `ce_source` accepted on this topic: its owner's."""


class EventConsumers:
    """A service's one consumer group: one subscriber over all the topics it reads, routing
    each record by topic and event type. Every extra group would cost a join at every start
    and a rebalance at every rollout; parallelism comes from partitions and replicas."""

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
        self.group = settings.service_name
        """The group is named after the service; Kafka sees it with the topic prefix."""
        self._routes: dict[str, Route] = {}
        self._attached = False

    @property
    def kafka_group(self) -> str:
        return self.settings.group(self.group)

    @property
    def dead_letter_topic(self) -> str:
        return self.settings.topic(dead_letter_topic(self.group))

    @property
    def dead_letter_topics(self) -> list[str]:
        """The topics to create for this group: its dead-letter topic, if it consumes at all."""
        return [self.dead_letter_topic] if self._routes else []

    @property
    def topics(self) -> list[str]:
        """The topics this service consumes, by their catalog names."""
        return [route.topic for route in self._routes.values()]

    async def ensure_indexes(self) -> None:
        await ensure_index(self.processed, "processed_at", expireAfterSeconds=90 * 24 * 3600)

    def route(
        self,
        topic: str,
        handler: EventHandler,
        event_types: Collection[str] | None = None,
        source: str | None = None,
    ) -> None:
        """Send the records of `topic` to `handler`; events of other types are skipped, events
        from any source but the topic's owner (contracts.topics; `source` for a topic outside
        the catalog) are dead-lettered."""
        if self._attached:
            raise RuntimeError("routes must be declared before the consumer is attached")
        kafka_topic = self.settings.topic(topic)
        if kafka_topic in self._routes:
            raise ValueError(f"topic {topic} already has a handler")
        owner = BY_NAME.get(topic)
        expected = owner.source if owner is not None else source
        if expected is None:
            raise ValueError(f"topic {topic} is not in the catalog: name the source it accepts")
        if owner is not None and source is not None and source != owner.source:
            raise ValueError(f"topic {topic} belongs to {owner.source}, not {source}")
        self._routes[kafka_topic] = Route(topic, handler, event_types, expected)

    def attach(self) -> None:
        """Create the group's one subscriber over every routed topic (once; none without routes)."""
        if self._attached or not self._routes:
            return
        self._attached = True
        for outcome in OUTCOMES:  # every series exists from the start, so a first dead letter is an increase
            self.metrics.consumed.labels(self.group, outcome)
        self.broker.subscriber(
            *self._routes,
            group_id=self.kafka_group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self.settings.kafka_rebalance_timeout_ms,
            title=self.group,
            decoder=_undecoded,
            batch=True,
            max_records=self.settings.consumer_batch_size,
            batch_timeout_ms=100,
        )(self._consume)

    @property
    def has_subscriber(self) -> bool:
        """Whether starting the broker joins a consumer group: aiokafka's start returns only
        once the group has given this member its assignment."""
        return self._attached

    async def _consume(self, message: KafkaMessage) -> None:
        records = message.raw_message
        batch = list(records) if isinstance(records, tuple) else [records]
        routed: list[Routed] = []
        for record in batch:
            route = self._routes.get(record.topic)
            if route is None:  # pragma: no cover - the subscriber reads only routed topics
                await self._dead_letter(record, ValueError(f"no route for topic {record.topic}"))
                continue
            try:
                event = decode_record(record.headers, record.key, record.value, route.topic)
            except ValueError as exc:
                await self._dead_letter(record, exc)
                continue
            if event.source != route.source:
                # Checked before the type, so that a forged record is seen, not skipped unseen.
                await self._dead_letter(
                    record, ForeignSource(f"ce_source is not the owner of {route.topic} ({route.source})")
                )
                continue
            if route.event_types is not None and event.type not in route.event_types:
                self.metrics.consumed.labels(self.group, "skipped").inc()
                continue
            routed.append(Routed(record, event, route.handler))
        if not routed:
            return
        try:
            outcomes = await self._handle_batch(routed)
        except ENGINE_DOWN:
            raise  # not acknowledged: Kafka redelivers the batch, and processed ids are skipped
        except Exception:  # noqa: BLE001 - find the event at fault, one at a time
            outcomes = await self._handle_one_by_one(routed)
        for outcome in outcomes:
            self.metrics.consumed.labels(self.group, outcome).inc()

    def _marker(self, item: Routed) -> str:
        # The topic is part of the marker: one group reads several topics, and an id is
        # unique only together with its source.
        return f"{self.group}:{item.event.topic}:{item.event.id}"

    async def _handle_batch(self, items: list[Routed]) -> list[str]:
        """All events of a poll in one transaction: a projection of a whole province is
        then bounded by MongoDB's write rate, not by one transaction per event."""
        markers = [self._marker(item) for item in items]

        async def work(session: Session) -> list[str]:
            seen = {
                doc["_id"]
                async for doc in self.processed.find({"_id": {"$in": markers}}, {"_id": 1}, session=session)
            }
            outcomes: list[str] = []
            fresh: list[str] = []
            for marker, item in zip(markers, items, strict=True):
                if marker in seen:
                    outcomes.append("duplicate")
                    continue
                seen.add(marker)
                await item.handler(session, item.event)
                fresh.append(marker)
                outcomes.append("processed")
            if fresh:
                now = dt.datetime.now(dt.UTC)
                await self.processed.insert_many(
                    [{"_id": marker, "processed_at": now} for marker in fresh], session=session
                )
            return outcomes

        return await self._with_engine_retries(work)

    async def _handle_one_by_one(self, items: list[Routed]) -> list[str]:
        outcomes: list[str] = []
        for item in items:
            try:
                outcomes.append(await self._handle_once(item))
            except ENGINE_DOWN:
                raise
            except Exception as exc:  # noqa: BLE001 - this event's fault: dead-letter it, go on
                await self._dead_letter(item.record, exc)
        return outcomes

    async def _handle_once(self, item: Routed) -> str:
        marker = self._marker(item)

        async def work(session: Session) -> str:
            # A failed write aborts the whole transaction, so look before inserting; a
            # concurrent twin that wins the race surfaces as DuplicateKeyError below.
            if await self.processed.find_one({"_id": marker}, {"_id": 1}, session=session):
                return "duplicate"
            await self.processed.insert_one(
                {"_id": marker, "processed_at": dt.datetime.now(dt.UTC)}, session=session
            )
            await item.handler(session, item.event)
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

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: BaseException) -> None:
        """A reference to the record, never the record: no value, no key, no traceback, since
        any of them may hold personal data. The source topic keeps the record itself (as long as
        the dead-letter topic keeps the reference), so it is replayed from there by offset."""
        dlq = self.dead_letter_topic
        reason = dead_letter_reason(error)
        source_headers = {
            name: raw.decode("utf-8", errors="replace") for name, raw in record.headers if raw is not None
        }
        headers = {
            f"x-dlq-{name.replace('_', '-')}": source_headers[name][:HEADER_CHARS]
            for name in REFERENCE_HEADERS
            if name in source_headers
        }
        headers.update(
            {
                "x-dlq-error": reason,
                "x-dlq-error-type": type(error).__name__,
                "x-dlq-where": error_location(error),
                "x-dlq-topic": record.topic,
                "x-dlq-partition": str(record.partition),
                "x-dlq-offset": str(record.offset),
                "x-dlq-group": self.group,
                "x-dlq-at": dt.datetime.now(dt.UTC).isoformat(),
            }
        )
        await self.broker.publish(b"", topic=dlq, headers=headers)
        log.warning(
            "event dead-lettered",
            extra={
                "dlq": dlq,
                "error": reason,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
        )
        self.metrics.consumed.labels(self.group, "dead_lettered").inc()
