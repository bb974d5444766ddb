"""Reliable consumption: good messages are handled, transient failures retried, poison messages
and persistent failures dead-lettered with their reason, and every offset committed."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry
from ragchat_common.broker import create_broker
from ragchat_common.consumer import RetryPolicy, subscribe_reliably
from ragchat_common.events import CrawlProgress, CrawlState
from ragchat_common.settings import KafkaSettings
from ragchat_common.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


def progress(marker: str) -> CrawlProgress:
    return CrawlProgress(
        crawl_id=uuid4(),
        kb_id=uuid4(),
        tenant_id=uuid4(),
        state=CrawlState.RUNNING,
        current_url=marker,
    )


async def read_all(kafka: KafkaSettings, topic: str, count: int) -> list:  # type: ignore[type-arg]
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        records = []
        async with asyncio.timeout(30):
            while len(records) < count:
                records.append(await reader.getone())
        return records
    finally:
        await reader.stop()


async def test_failures_are_retried_then_dead_lettered_and_nothing_is_lost(
    kafka: KafkaSettings, unique: str
) -> None:
    topic = TopicSpec(f"test.reliable.{unique}", 1)
    await ensure_topics(kafka.bootstrap_servers, (topic, topic.dead_letter))
    registry = CollectorRegistry()
    broker = create_broker("reliable-test", kafka, registry)
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
    dead = await read_all(kafka, topic.dead_letter.name, 2)
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
