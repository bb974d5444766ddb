"""Kafka behaves as the pipeline needs: topics with their partition counts, consumer groups that
split partitions, committed offsets that survive a restart, and a broker that finishes and commits
the message in hand when it is stopped."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaMessage
from prometheus_client import CollectorRegistry
from ragchat_common.broker import create_broker
from ragchat_common.events import CrawlProgress, CrawlState
from ragchat_common.settings import KafkaSettings
from ragchat_common.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


async def partition_counts(kafka: KafkaSettings, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}


async def produce(kafka: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for i, value in enumerate(values):
            await producer.send_and_wait(topic, value, key=str(i).encode())
    finally:
        await producer.stop()


def consumer(kafka: KafkaSettings, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


async def test_topics_are_created_with_their_partitions_and_grown_idempotently(
    kafka: KafkaSettings, unique: str
) -> None:
    spec = TopicSpec(f"test.created.{unique}", 2)
    await ensure_topics(kafka.bootstrap_servers, (spec, spec.dead_letter))
    assert await partition_counts(kafka, [spec.name, spec.dead_letter.name]) == {
        spec.name: 2,
        f"{spec.name}.dlq": 1,
    }
    await ensure_topics(kafka.bootstrap_servers, (TopicSpec(spec.name, 4),))
    assert (await partition_counts(kafka, [spec.name]))[spec.name] == 4


async def test_two_consumers_in_one_group_split_the_partitions(
    kafka: KafkaSettings, unique: str
) -> None:
    topic = f"test.split.{unique}"
    await ensure_topics(kafka.bootstrap_servers, (TopicSpec(topic, 4),))
    first, second = consumer(kafka, topic, unique), consumer(kafka, topic, unique)
    await first.start()
    await second.start()
    try:
        async with asyncio.timeout(60):
            while True:
                # Polling drives the group protocol until both members hold an assignment.
                await asyncio.gather(first.getmany(timeout_ms=200), second.getmany(timeout_ms=200))
                a, b = first.assignment(), second.assignment()
                if a and b and len(a | b) == 4:
                    break
        assert a.isdisjoint(b)
        assert {tp.partition for tp in a | b} == {0, 1, 2, 3}
    finally:
        await asyncio.gather(first.stop(), second.stop())


async def test_a_restarted_consumer_resumes_from_its_committed_offset(
    kafka: KafkaSettings, unique: str
) -> None:
    topic = f"test.resume.{unique}"
    await ensure_topics(kafka.bootstrap_servers, (TopicSpec(topic, 1),))
    await produce(kafka, topic, [f"m{i}".encode() for i in range(10)])

    first = consumer(kafka, topic, unique)
    await first.start()
    try:
        seen: list[bytes] = []
        async with asyncio.timeout(30):
            while len(seen) < 5:
                record = await first.getone()
                seen.append(record.value)
        tp = TopicPartition(topic, 0)
        await first.commit({tp: 5})
    finally:
        await first.stop()

    await produce(kafka, topic, [b"m10", b"m11"])
    second = consumer(kafka, topic, unique)
    await second.start()
    try:
        rest: list[bytes] = []
        async with asyncio.timeout(30):
            while len(rest) < 7:
                batch = await second.getmany(timeout_ms=500)
                rest.extend(r.value for records in batch.values() for r in records)
    finally:
        await second.stop()
    assert seen == [f"m{i}".encode() for i in range(5)]
    assert rest == [f"m{i}".encode() for i in range(5, 12)]


async def test_stopping_the_broker_finishes_and_commits_the_message_in_hand(
    kafka: KafkaSettings, unique: str
) -> None:
    topic = f"test.graceful.{unique}"
    await ensure_topics(kafka.bootstrap_servers, (TopicSpec(topic, 1),))
    broker = create_broker("graceful-test", kafka, CollectorRegistry())
    started, finished = asyncio.Event(), asyncio.Event()

    @broker.subscriber(topic, group_id=unique, auto_offset_reset="earliest")
    async def slow_handler(event: CrawlProgress, message: KafkaMessage) -> None:
        started.set()
        await asyncio.sleep(1.5)  # a handler still working when shutdown begins
        finished.set()

    await broker.start()
    try:
        event = CrawlProgress(
            crawl_id=uuid4(), kb_id=uuid4(), tenant_id=uuid4(), state=CrawlState.RUNNING
        )
        await broker.publish(event, topic, key=b"k")
        async with asyncio.timeout(30):
            await started.wait()
    finally:
        await broker.stop()
    assert finished.is_set(), "shutdown cut the handler short"

    check = consumer(kafka, topic, unique)
    await check.start()
    try:
        committed = await check.committed(TopicPartition(topic, 0))
    finally:
        await check.stop()
    assert committed == 1, "the handled message was not committed before the broker stopped"
