"""The shared runtime against real MongoDB and Kafka: outbox, relay, idempotent consumer, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

import pytest
from faststream.kafka import KafkaBroker

from contracts.envelope import CloudEvent, EventData, new_event
from contracts.topics import dead_letter_topic
from services.kit.consumer import DeadLetter
from services.kit.mongo import Session, in_transaction
from services.kit.outbox import OutboxRelay
from services.kit.runtime import Runtime, build_runtime, ensure_topics
from services.kit.settings import ServiceSettings
from tests.kafka_reader import events_of, read_at, read_topic, wait_for

TOPIC = "test.counters"
SOURCE = "/netral/test"


class CounterBumped(EventData):
    event_type: ClassVar[str] = "test.counter.bumped.v1"
    topic: ClassVar[str] = TOPIC
    counter: str
    amount: int

    def aggregate_key(self) -> str:
        return self.counter


@contextlib.asynccontextmanager
async def started(settings: ServiceSettings, with_relay: bool = True):  # type: ignore[no-untyped-def]
    runtime = build_runtime(settings)
    await ensure_topics(settings, [settings.topic(TOPIC), *runtime.consumers.dead_letter_topics])
    await runtime.outbox.ensure_indexes()
    yield runtime
    await runtime.client.close()


@contextlib.asynccontextmanager
async def relay_running(runtime: Runtime):  # type: ignore[no-untyped-def]
    relay = OutboxRelay(runtime.outbox, runtime.settings, runtime.leases, runtime.metrics)
    await relay.start()
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await relay.stop()


async def stage(runtime: Runtime, events: list[CloudEvent]) -> None:
    async def work(session: Session) -> None:
        await runtime.database["counters"].insert_one({"n": len(events)}, session=session)
        await runtime.outbox.add(session, events)

    await in_transaction(runtime.client, work)
    runtime.outbox.notify()


def bump(counter: str, amount: int) -> CloudEvent:
    return new_event(CounterBumped(counter=counter, amount=amount), SOURCE)


@pytest.fixture
def settings(settings_kwargs: dict[str, object]) -> ServiceSettings:
    return ServiceSettings(service_name="kit-test", relay_poll_seconds=0.05, **settings_kwargs)  # type: ignore[arg-type]


async def test_relay_publishes_every_event_once_in_order_per_key(settings: ServiceSettings) -> None:
    async with started(settings) as runtime:
        events = [bump(f"c{i % 7}", i) for i in range(700)]
        for start in range(0, 700, 100):
            await stage(runtime, events[start : start + 100])
        async with relay_running(runtime):
            records = await read_topic(
                settings.kafka_bootstrap_servers, settings.topic(TOPIC), lambda r: len(r) >= 700
            )

            async def drained() -> bool:
                return bool(await runtime.outbox.collection.count_documents({"pending": True}) == 0)

            await wait_for(drained)
    received = events_of(records)
    assert sorted(event.id for event in received) == sorted(event.id for event in events)
    for event in received:
        assert event.key == event.data["counter"]
        assert event.type == "test.counter.bumped.v1"
        assert event.source == "/netral/test"
    for counter in {f"c{i}" for i in range(7)}:
        amounts = [event.data["amount"] for event in received if event.key == counter]
        assert amounts == sorted(amounts), f"order broken for key {counter}"
    header_names = {name for name, _ in records[0].headers}
    assert {"ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "ce_specversion"} <= header_names


async def test_relay_started_later_publishes_what_was_committed_before(settings: ServiceSettings) -> None:
    """A process that crashed after committing leaves pending events; the next relay sends them."""
    async with started(settings) as crashed:
        await stage(crashed, [bump("a", 1), bump("a", 2)])
    assert crashed.metrics.outbox_published.labels(TOPIC)._value.get() == 0  # never published
    async with started(settings) as restarted:
        # The crashed holder's lease is still valid; the new relay waits for it to run out.
        await restarted.database["leases"].delete_many({})
        async with relay_running(restarted):
            records = await read_topic(
                settings.kafka_bootstrap_servers, settings.topic(TOPIC), lambda r: len(r) >= 2
            )
    assert [event.data["amount"] for event in events_of(records)] == [1, 2]


async def test_outbox_write_is_atomic_with_the_state_change(settings: ServiceSettings) -> None:
    async with started(settings) as runtime:

        async def failing(session: Session) -> None:
            await runtime.database["counters"].insert_one({"n": 1}, session=session)
            await runtime.outbox.add(session, [bump("x", 1)])
            raise RuntimeError("boom after writing")

        with pytest.raises(RuntimeError):
            await in_transaction(runtime.client, failing)
        assert await runtime.database["counters"].count_documents({}) == 0
        assert await runtime.outbox.collection.count_documents({}) == 0


async def test_consumer_is_idempotent_and_dead_letters_poison(settings: ServiceSettings) -> None:
    group = settings.service_name  # the service's one consumer group
    async with started(settings) as runtime:
        totals = runtime.database["totals"]

        async def project(session: Session, event: CloudEvent) -> None:
            if event.data.get("amount", 0) < 0:
                raise DeadLetter("jumlah negatif tidak sah")
            await totals.update_one(
                {"_id": event.key}, {"$inc": {"sum": event.data["amount"]}}, upsert=True, session=session
            )

        runtime.consumers.route(TOPIC, project, {"test.counter.bumped.v1"}, source=SOURCE)
        runtime.consumers.attach()
        await ensure_topics(settings, runtime.consumers.dead_letter_topics)
        await runtime.consumers.ensure_indexes()
        await runtime.broker.start()
        producer = KafkaBroker(settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            first, second = bump("k", 5), bump("k", 7)
            topic = settings.topic(TOPIC)
            for event in (first, first, second):  # `first` delivered twice
                await producer.publish(
                    event.kafka_value(), topic, key=event.key.encode(), headers=event.kafka_headers()
                )
            await producer.publish(
                b"not json", topic, key=b"k", headers=first.kafka_headers() | {"ce_id": "p1"}
            )
            await producer.publish(b"{}", topic, key=b"k", headers={"content-type": "application/json"})
            negative = bump("k", -1)
            await producer.publish(negative.kafka_value(), topic, key=b"k", headers=negative.kafka_headers())
            # Well-formed, but not from the topic's producer: not counted, dead-lettered.
            forged = bump("k", 1000)
            await producer.publish(
                forged.kafka_value(),
                topic,
                key=b"k",
                headers=forged.kafka_headers() | {"ce_source": "/netral/intruder"},
            )
            after_poison = bump("k", 100)
            await producer.publish(
                after_poison.kafka_value(), topic, key=b"k", headers=after_poison.kafka_headers()
            )

            async def total_is(value: int) -> bool:
                doc = await totals.find_one({"_id": "k"})
                return doc is not None and doc["sum"] == value

            await wait_for(lambda: total_is(112), timeout=60)
            dead = await read_topic(
                settings.kafka_bootstrap_servers,
                settings.topic(dead_letter_topic(group)),
                lambda r: len(r) >= 4,
            )
            processed = await runtime.database["processed_events"].count_documents({})
        finally:
            await producer.stop()
            await runtime.broker.stop()
    assert len(dead) == 4
    errors = [dict((name, value.decode()) for name, value in record.headers) for record in dead]
    assert any("not JSON" in e["x-dlq-error"] for e in errors)
    assert any("missing CloudEvents headers" in e["x-dlq-error"] for e in errors)
    assert any(e["x-dlq-error"] == "jumlah negatif tidak sah" for e in errors)
    foreign = next(e for e in errors if e["x-dlq-error-type"] == "ForeignSource")
    assert foreign["x-dlq-error"] == f"ce_source is not the owner of {TOPIC} ({SOURCE})"
    assert foreign["x-dlq-ce-id"] == forged.id
    assert all(e["x-dlq-topic"] == settings.topic(TOPIC) and e["x-dlq-offset"] for e in errors)
    # A reference, never the record: no value, no key, no traceback, no source header copied.
    assert all(record.value in (b"", None) and record.key is None for record in dead)
    assert all("x-dlq-trace" not in e and "ce_subject" not in e and "ce_id" not in e for e in errors)
    assert processed == 3  # first, second, after_poison: the duplicate left no second mark

    # Replay is by reference: the source record sits at the dead letter's topic, partition, offset.
    negative_letter = next(e for e in errors if e["x-dlq-error"] == "jumlah negatif tidak sah")
    source = await read_at(
        settings.kafka_bootstrap_servers,
        negative_letter["x-dlq-topic"],
        int(negative_letter["x-dlq-partition"]),
        int(negative_letter["x-dlq-offset"]),
    )
    assert source.value == negative.kafka_value()
    assert events_of([source])[0].id == negative.id == negative_letter["x-dlq-ce-id"]
