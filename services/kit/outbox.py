"""Transactional outbox: events are written with the state change, and a relay publishes them.

Order per key: events are published in `order` (microseconds since the epoch, taken when the
event is staged inside the transaction that wrote the change), then `_id`. Two changes to one
aggregate are serialised by MongoDB's write conflict: the transaction that commits second read
the first one's result, so it staged its events later and they sort after, whichever replica
wrote them. (An ObjectId alone is not enough: across processes it orders only by the second.)
Across hosts this relies on their clocks agreeing to within the time between the two changes.

Publication is at-least-once; an event keeps its id when it is published again, so consumers
deduplicate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from contracts.envelope import CloudEvent
from services.kit.kafka import kafka_client_options
from services.kit.leases import Leases
from services.kit.metrics import RuntimeMetrics
from services.kit.mongo import Document, Session, ensure_index
from services.kit.polling import Lease, Wakeup, poll_forever
from services.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

PUBLISHED_RETENTION = dt.timedelta(days=7)


class Outbox:
    def __init__(self, database: AsyncDatabase[Document]) -> None:
        self.collection = database["outbox"]
        self.wakeup = Wakeup()

    async def ensure_indexes(self) -> None:
        await ensure_index(
            self.collection,
            [("pending", ASCENDING), ("order", ASCENDING), ("_id", ASCENDING)],
            name="pending_in_commit_order",
            partialFilterExpression={"pending": True},
        )
        await ensure_index(
            self.collection,
            "published_at",
            name="published_ttl",
            expireAfterSeconds=int(PUBLISHED_RETENTION.total_seconds()),
            # Partial, so that writing a new event does not touch this index.
            partialFilterExpression={"published_at": {"$exists": True}},
        )

    @staticmethod
    def document(event: CloudEvent) -> Document:
        return {
            "_id": ObjectId(),
            "order": time.time_ns() // 1000,
            "event_id": event.id,
            "topic": event.topic,
            "key": event.key,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time,
            "payload": event.payload,
            "pending": True,
            "created_at": dt.datetime.now(dt.UTC),
        }

    async def add(self, session: Session, events: Iterable[CloudEvent]) -> int:
        """Stage events inside the caller's transaction."""
        documents = [self.document(event) for event in events]
        if documents:
            await self.collection.insert_many(documents, session=session, ordered=True)
        return len(documents)

    def notify(self) -> None:
        """Wake the relay of this process after a commit, instead of waiting for its poll."""
        self.wakeup.set()


def _to_event(document: Document) -> CloudEvent:
    return CloudEvent(
        id=document["event_id"],
        type=document["type"],
        source=document["source"],
        time=document["time"],
        subject=document["subject"],
        payload=bytes(document["payload"]),
        key=document["key"],
        topic=document["topic"],
    )


class OutboxRelay:
    """Publishes pending outbox events. One relay per database holds the lease at a time,
    so replicas do not publish the same events in a different order."""

    LEASE = "outbox-relay"

    def __init__(
        self,
        outbox: Outbox,
        settings: ServiceSettings,
        leases: Leases,
        metrics: RuntimeMetrics,
    ) -> None:
        self.outbox = outbox
        self.settings = settings
        self.leases = leases
        self.metrics = metrics
        self._producer: AIOKafkaProducer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the outbox relay is not started")
        return self._producer

    async def start(self) -> None:
        """Connect the producer; the caller retries (see kit.startup), each time with a new one."""
        # Its own aiokafka producer: the relay sends thousands of records per batch, and the
        # broker's per-message publish path (middlewares, decoding) costs more than the send.
        producer = AIOKafkaProducer(
            **kafka_client_options(self.settings),
            client_id=f"{self.settings.service_name}-outbox-relay",
            acks="all",
            enable_idempotence=self.settings.kafka_enable_idempotence,
            linger_ms=5,
            max_batch_size=1024 * 1024,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def run(self) -> None:
        """Publish until cancelled; `start` first, `stop` after. A failed batch is not marked
        published, so the same events go again once the engines answer."""

        async def step() -> bool:
            return await self.publish_batch() >= self.settings.relay_batch_size

        await poll_forever(
            "outbox relay",
            step,
            self.outbox.wakeup,
            self.settings.relay_poll_seconds,
            Lease(self.leases, self.LEASE, self.settings.relay_lease_seconds),
        )

    async def publish_batch(self) -> int:
        cursor = self.outbox.collection.find(
            {"pending": True},
            sort=[("order", ASCENDING), ("_id", ASCENDING)],
            limit=self.settings.relay_batch_size,
        )
        documents = await cursor.to_list()
        await self._sample_lag(documents)
        if not documents:
            return 0
        futures: list[asyncio.Future[Any]] = []
        for document in documents:
            event = _to_event(document)
            futures.append(
                await self.producer.send(
                    self.settings.topic(event.topic),
                    event.kafka_value(),
                    key=event.key.encode(),
                    headers=[(name, value.encode()) for name, value in event.kafka_headers().items()],
                )
            )
        results = await asyncio.gather(*futures, return_exceptions=True)
        done_ids: list[ObjectId] = []
        failed_keys: set[tuple[str, str]] = set()
        first_error: BaseException | None = None
        for document, result in zip(documents, results, strict=True):
            slot = (document["topic"], document["key"])
            if isinstance(result, BaseException):
                failed_keys.add(slot)
                first_error = first_error or result
            elif slot not in failed_keys:
                # After a failure on a key, later events of that key stay pending so that
                # they are published again after it, keeping the per-key order.
                done_ids.append(document["_id"])
                self.metrics.outbox_published.labels(document["topic"]).inc()
        if done_ids:
            await self.outbox.collection.update_many(
                {"_id": {"$in": done_ids}},
                {"$unset": {"pending": ""}, "$set": {"published_at": dt.datetime.now(dt.UTC)}},
            )
        if first_error is not None:
            raise first_error
        return len(documents)

    async def _sample_lag(self, batch: list[Document]) -> None:
        try:
            if batch:
                oldest = batch[0]["created_at"]
                self.metrics.outbox_oldest_pending_seconds.set(
                    (dt.datetime.now(dt.UTC) - oldest).total_seconds()
                )
                if len(batch) < self.settings.relay_batch_size:
                    self.metrics.outbox_pending.set(len(batch))
                else:
                    self.metrics.outbox_pending.set(
                        await self.outbox.collection.count_documents({"pending": True})
                    )
            else:
                self.metrics.outbox_oldest_pending_seconds.set(0)
                self.metrics.outbox_pending.set(0)
        except PyMongoError:
            log.warning("could not sample outbox lag", exc_info=True)
