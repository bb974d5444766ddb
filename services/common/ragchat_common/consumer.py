"""Reliable consumption of an input topic: retries, then the topic's dead-letter twin.

Offsets are committed only after every message of a poll was either handled or written (and
acknowledged by Kafka) to ``<topic>.dlq`` with its reason:

- a message that does not parse as the expected event is dead-lettered at once (``invalid``);
- a handler error is retried with backoff; after ``max_attempts`` the message is dead-lettered
  (``failed``) and the pipeline keeps flowing;
- :class:`DependencyUnavailable` (OpenSearch down, a model server away) is never dead-lettered:
  consumption pauses and the same messages are retried until the dependency is back.

Handlers must be idempotent: after a crash the uncommitted messages are delivered again.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ValidationError

from ragchat_common.logs import get_logger
from ragchat_common.topics import TopicSpec

log = get_logger(__name__)
E = TypeVar("E", bound=BaseModel)


class DependencyUnavailable(Exception):
    """Raised by a handler when a dependency is down: retry until it is back, never dead-letter."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried before it is dead-lettered."""

    max_attempts: int = 3
    first_backoff_s: float = 0.5
    max_backoff_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


@dataclass(frozen=True)
class Received(Generic[E]):
    """A parsed event with the record it came from."""

    event: E
    record: ConsumerRecord[Any, Any]


# One counter per registry: a process with several subscribers registers the metric once.
_DEAD_LETTER_COUNTERS: WeakKeyDictionary[CollectorRegistry, Counter] = WeakKeyDictionary()


def _dead_letter_counter(registry: CollectorRegistry) -> Counter:
    """The dead-letter counter of ``registry``, created on first use."""
    counter = _DEAD_LETTER_COUNTERS.get(registry)
    if counter is None:
        counter = Counter(
            "ragchat_messages_dead_lettered_total",
            "Messages sent to a dead-letter topic.",
            ["topic", "reason"],
            registry=registry,
        )
        _DEAD_LETTER_COUNTERS[registry] = counter
    return counter


class DeadLetters:
    """Writes records that could not be handled to the topic's dead-letter twin."""

    def __init__(self, broker: KafkaBroker, topic: TopicSpec, registry: CollectorRegistry) -> None:
        self.broker = broker
        self.topic = topic
        self.count = _dead_letter_counter(registry)

    async def send(
        self, record: ConsumerRecord[Any, Any], reason: str, error: str, attempts: int
    ) -> None:
        """Publish ``record`` unchanged plus ``x-`` headers saying where it came from and why."""
        headers = {
            **{k: v.decode(errors="replace") for k, v in record.headers},
            "x-dead-letter-reason": reason,
            "x-error": error[-4000:],
            "x-attempts": str(attempts),
            "x-source-topic": record.topic,
            "x-source-partition": str(record.partition),
            "x-source-offset": str(record.offset),
        }
        await self.broker.publish(
            record.value or b"", self.topic.dead_letter.name, key=record.key, headers=headers
        )
        self.count.labels(self.topic.name, reason).inc()
        log.error(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error.strip().splitlines()[-1] if error.strip() else "",
            attempts=attempts,
        )


async def _parse(
    records: Sequence[ConsumerRecord[Any, Any]], event_type: type[E], dead: DeadLetters
) -> list[Received[E]]:
    """Parse every record; dead-letter the ones that are not a valid ``event_type``."""
    parsed: list[Received[E]] = []
    for record in records:
        try:
            parsed.append(Received(event_type.model_validate_json(record.value or b""), record))
        except ValidationError as exc:
            await dead.send(record, "invalid", str(exc), attempts=0)
    return parsed


async def _run_with_retries(
    work: Callable[[], Awaitable[None]], policy: RetryPolicy, topic: str
) -> str | None:
    """Run ``work`` until it succeeds (``None``) or exhausts its attempts (the last traceback).

    :class:`DependencyUnavailable` does not count as an attempt: it waits and tries again.
    """
    attempt = 0
    while True:
        try:
            await work()
            return None
        except DependencyUnavailable as exc:
            log.warning("dependency unavailable, pausing", topic=topic, error=str(exc))
            await asyncio.sleep(policy.max_backoff_s)
        except Exception:
            attempt += 1
            error = traceback.format_exc()
            if attempt >= policy.max_attempts:
                return error
            log.warning(
                "handler failed, will retry",
                topic=topic,
                attempt=attempt,
                error=error.strip().splitlines()[-1],
            )
            await asyncio.sleep(policy.backoff(attempt))


def subscribe_reliably(
    broker: KafkaBroker,
    topic: TopicSpec,
    group_id: str,
    event_type: type[E],
    handler: Callable[[E], Awaitable[None]],
    registry: CollectorRegistry,
    policy: RetryPolicy | None = None,
) -> None:
    """Consume ``topic`` as ``group_id``, one message at a time, passing events to ``handler``."""
    retry = policy or RetryPolicy()
    dead = DeadLetters(broker, topic, registry)

    @broker.subscriber(
        topic.name, group_id=group_id, auto_offset_reset="earliest", max_poll_records=64
    )
    async def consume(message: KafkaMessage) -> None:
        record = message.raw_message
        if isinstance(record, tuple):
            raise TypeError("a single-message subscriber received a batch")
        for received in await _parse([record], event_type, dead):
            error = await _run_with_retries(partial(handler, received.event), retry, topic.name)
            if error is not None:
                await dead.send(record, "failed", error, attempts=retry.max_attempts)


def subscribe_reliably_in_batches(
    broker: KafkaBroker,
    topic: TopicSpec,
    group_id: str,
    event_type: type[E],
    handler: Callable[[list[E]], Awaitable[None]],
    registry: CollectorRegistry,
    policy: RetryPolicy | None = None,
    max_records: int = 64,
    max_wait_ms: int = 200,
    min_bytes: int = 1,
    max_partition_bytes: int = 1_048_576,
) -> None:
    """Consume ``topic`` in batches of up to ``max_records``.

    A batch is what the broker has when a fetch returns: as soon as ``min_bytes`` are ready, or
    after ``max_wait_ms``. With the default of one byte that is whatever had arrived, often a
    single record; a larger ``min_bytes`` collects records for up to ``max_wait_ms``. At most
    ``max_partition_bytes`` are read from one partition per fetch.

    A batch that keeps failing is split: each event is retried alone, so one poison message is
    dead-lettered without taking its neighbours with it.
    """
    retry = policy or RetryPolicy()
    dead = DeadLetters(broker, topic, registry)

    @broker.subscriber(
        topic.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        batch=True,
        max_records=max_records,
        batch_timeout_ms=max_wait_ms,
        fetch_min_bytes=min_bytes,
        fetch_max_wait_ms=max_wait_ms,
        max_partition_fetch_bytes=max_partition_bytes,
    )
    async def consume(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        batch = await _parse(records, event_type, dead)
        if not batch:
            return
        events = [r.event for r in batch]
        if await _run_with_retries(partial(handler, events), retry, topic.name) is None:
            return
        for received in batch:
            error = await _run_with_retries(partial(handler, [received.event]), retry, topic.name)
            if error is not None:
                await dead.send(received.record, "failed", error, attempts=retry.max_attempts)
