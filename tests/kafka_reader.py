"""Reading what services published, straight from the broker, for assertions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.structs import ConsumerRecord, TopicPartition  # type: ignore[import-untyped]
from cloudevents.kafka import KafkaMessage
from cloudevents.kafka import from_binary as cloudevents_from_kafka

from contracts.envelope import CloudEvent, decode_record


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout: float = 60.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Consume `topic` from the beginning until `until(records)` holds; fail at the timeout (a
    silent return would let `all(...)` over nothing pass). Every partition is assigned by hand:
    no consumer group, so no join to wait for."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:  # not created yet
            await asyncio.sleep(0.2)
            await consumer.topics()  # refreshes the metadata
            partitions = consumer.partitions_for_topic(topic)
        if partitions:
            consumer.assign([TopicPartition(topic, partition) for partition in sorted(partitions)])
            while not until(records) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for partition_records in batch.values():
                    records.extend(partition_records)
    finally:
        await consumer.stop()
    if not until(records):
        raise AssertionError(f"{topic}: condition not met within {timeout} s ({len(records)} records read)")
    return records


async def read_at(bootstrap: str, topic: str, partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    """The one record at `offset` of `partition`: how a dead letter's reference is followed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        where = TopicPartition(topic, partition)
        consumer.assign([where])
        consumer.seek(where, offset)
        record: ConsumerRecord[bytes, bytes] = await asyncio.wait_for(consumer.getone(where), 30)
    finally:
        await consumer.stop()
    assert record.offset == offset, (record.offset, offset)
    return record


def events_of(records: list[ConsumerRecord[bytes, bytes]]) -> list[CloudEvent]:
    """Our decoding of each record, checked against what an agency's CNCF CloudEvents SDK reads."""
    events = [decode_record(record.headers, record.key, record.value, record.topic) for record in records]
    for record, event in zip(records, events, strict=True):
        assert_agency_sdk_reads(record, event)
    return events


def assert_agency_sdk_reads(record: ConsumerRecord[bytes, bytes], ours: CloudEvent) -> None:
    """An agency reading with the CNCF CloudEvents SDK gets the same event as our decoder."""
    message = KafkaMessage(
        headers={name: value for name, value in record.headers if value is not None},
        key=record.key,
        value=record.value,
    )
    sdk = cloudevents_from_kafka(message)
    assert (sdk["id"], sdk["type"], sdk["source"]) == (ours.id, ours.type, ours.source)
    assert sdk["specversion"] == "1.0"
    assert sdk.data == ours.data


async def wait_for(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> None:
    """Poll an async or sync condition until it is truthy; fail with the timeout otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


async def prefixed_topics(bootstrap: str, prefix: str) -> list[str]:
    """Every topic of one test (its prefix), dead-letter topics included."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(name for name in await admin.list_topics() if name.startswith(prefix))
    finally:
        await admin.close()


async def read_all(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic`, from the beginning past the end offsets as they are now (none for
    a topic without partitions). Records at or past the reported end are kept: the local Tansu
    broker reports a partition's end as the last batch's base offset + 1. Callers check
    completeness against what was published."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer.topics()  # loads the metadata
        assigned = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not assigned:
            return records
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        deadline = time.monotonic() + 30
        while True:
            positions = {tp: await consumer.position(tp) for tp in assigned}
            if all(positions[tp] >= ends[tp] for tp in assigned):
                break
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
            for partition_records in (await consumer.getmany(*assigned, timeout_ms=500)).values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records
