"""Reliable consumption: good messages are handled, transient failures retried, poison messages
and persistent failures dead-lettered with their reason, and every offset committed."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from ragchat_common.broker import create_broker
from ragchat_common.consumer import RetryPolicy, subscribe_reliably, subscribe_reliably_in_batches
from ragchat_common.events import CrawlProgress, CrawlState
from ragchat_common.settings import KafkaSettings
from ragchat_common.topics import TopicSpec, ensure_topics

from tests.harness.kafka import TopicReader

pytestmark = pytest.mark.integration


def progress(marker: str) -> CrawlProgress:
    return CrawlProgress(
        crawl_id=uuid4(),
        kb_id=uuid4(),
        tenant_id=uuid4(),
        state=CrawlState.RUNNING,
        current_url=marker,
    )


async def own_topic(
    kafka: KafkaSettings, kind: str, unique: str
) -> tuple[TopicSpec, CollectorRegistry, KafkaBroker]:
    """A one-partition topic of the test's own (and its dead-letter twin), with a broker and the
    registry its metrics go to."""
    topic = TopicSpec(f"test.{kind}.{unique}", 1)
    await ensure_topics(kafka.bootstrap_servers, (topic, topic.dead_letter))
    registry = CollectorRegistry()
    return topic, registry, create_broker(f"{kind}-test", kafka, registry)


async def test_failures_are_retried_then_dead_lettered_and_nothing_is_lost(
    kafka: KafkaSettings, unique: str, read_topic: TopicReader
) -> None:
    topic, registry, broker = await own_topic(kafka, "reliable", unique)
    handled: list[str] = []
    attempts: dict[str, int] = {}
    done = asyncio.Event()

    async def handle(event: CrawlProgress) -> None:
        marker = event.current_url or ""
        attempts[marker] = attempts.get(marker, 0) + 1
        if marker == "always-fails" or (marker == "flaky" and attempts[marker] == 1):
            raise RuntimeError(f"cannot handle {marker}")
        handled.append(marker)
        if marker == "last":
            done.set()

    subscribe_reliably(
        broker,
        topic,
        unique,
        CrawlProgress,
        handle,
        registry,
        RetryPolicy(max_attempts=3, first_backoff_s=0.05),
    )
    await broker.start()
    try:
        await broker.publish(progress("first"), topic.name, key=b"k")
        await broker.publish(b'{"not": "a crawl progress"}', topic.name, key=b"k")
        await broker.publish(progress("always-fails"), topic.name, key=b"k")
        await broker.publish(progress("flaky"), topic.name, key=b"k")
        await broker.publish(progress("last"), topic.name, key=b"k")
        async with asyncio.timeout(30):
            await done.wait()
    finally:
        await broker.stop()

    assert handled == ["first", "flaky", "last"]
    assert attempts["always-fails"] == 3
    dead = await read_topic(topic.dead_letter.name, lambda rs: len(rs) >= 2, within_s=30)
    reasons = [dict(r.headers)["x-dead-letter-reason"].decode() for r in dead]
    assert reasons == ["invalid", "failed"]
    assert dict(dead[1].headers)["x-attempts"] == b"3"
    assert b"always-fails" in dead[1].value
    assert b"cannot handle always-fails" in dict(dead[1].headers)["x-error"]

    check = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=unique)
    await check.start()
    try:
        assert await check.committed(TopicPartition(topic.name, 0)) == 5
    finally:
        await check.stop()
    sample = registry.get_sample_value(
        "ragchat_messages_dead_lettered_total", {"topic": topic.name, "reason": "failed"}
    )
    assert sample == 1.0


async def test_a_poison_event_in_a_batch_is_isolated_and_its_neighbours_handled(
    kafka: KafkaSettings, unique: str, read_topic: TopicReader
) -> None:
    topic, registry, broker = await own_topic(kafka, "batch", unique)
    handled: list[str] = []
    batch_sizes: list[int] = []
    done = asyncio.Event()

    async def handle(events: list[CrawlProgress]) -> None:
        batch_sizes.append(len(events))
        if any(e.current_url == "poison" for e in events):
            raise ValueError("poison in batch")
        handled.extend(e.current_url or "" for e in events)
        if "last" in handled:
            done.set()

    markers = ["a", "b", "poison", "c", "last"]
    for marker in markers:  # published before the consumer starts, so they arrive as one batch
        await produce_event(kafka, topic.name, progress(marker))
    subscribe_reliably_in_batches(
        broker,
        topic,
        unique,
        CrawlProgress,
        handle,
        registry,
        RetryPolicy(max_attempts=2, first_backoff_s=0.05),
        max_records=10,
        max_wait_ms=500,
    )
    await broker.start()
    try:
        async with asyncio.timeout(30):
            await done.wait()
    finally:
        await broker.stop()

    assert sorted(handled) == ["a", "b", "c", "last"]
    assert batch_sizes[0] == 5, "events were not delivered as one batch"
    dead = await read_topic(topic.dead_letter.name, lambda rs: len(rs) >= 1, within_s=30)
    assert b"poison" in dead[0].value
    assert dict(dead[0].headers)["x-dead-letter-reason"] == b"failed"


async def produce_event(kafka: KafkaSettings, topic: str, event: CrawlProgress) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"k")
    finally:
        await producer.stop()


async def test_a_batch_with_a_size_floor_collects_what_arrives_within_its_wait(
    kafka: KafkaSettings, unique: str
) -> None:
    topic, registry, broker = await own_topic(kafka, "floor", unique)
    batches: list[list[str]] = []
    done = asyncio.Event()

    async def handle(events: list[CrawlProgress]) -> None:
        batches.append([e.current_url or "" for e in events])
        if any("last" in batch for batch in batches):
            done.set()

    subscribe_reliably_in_batches(
        broker,
        topic,
        unique,
        CrawlProgress,
        handle,
        registry,
        max_records=10,
        # Far more than the five events: the fetch waits out max_wait_ms and takes them all.
        min_bytes=1_000_000,
        max_wait_ms=5_000,
    )
    await broker.start()
    try:
        # Published one by one while the consumer waits: without the floor the first fetch
        # returns the first event alone.
        for marker in ["a", "b", "c", "d", "last"]:
            await produce_event(kafka, topic.name, progress(marker))
        async with asyncio.timeout(30):
            await done.wait()
    finally:
        await broker.stop()

    assert batches == [["a", "b", "c", "d", "last"]]
