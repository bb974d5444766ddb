"""Reliable consumption of an input topic: retries, then the topic's dead-letter twin.

A message is committed only after its handler succeeded, or after it was written (and acknowledged
by Kafka) to ``<topic>.dlq`` with the reason. A message that does not parse as the expected event
goes to the dead-letter topic at once; a handler that keeps failing goes there after
``max_attempts`` tries with backoff. Either way the pipeline keeps flowing and nothing is lost.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from faststream.kafka import KafkaBroker, KafkaMessage
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ValidationError

from ragchat_common.logs import get_logger
from ragchat_common.topics import TopicSpec

log = get_logger(__name__)
E = TypeVar("E", bound=BaseModel)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried before it is dead-lettered."""

    max_attempts: int = 3
    first_backoff_s: float = 0.5
    max_backoff_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


class DeadLetterMetrics:
    """Count of dead-lettered messages per topic and reason."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.dead_lettered = Counter(
            "ragchat_messages_dead_lettered_total",
            "Messages sent to a dead-letter topic.",
            ["topic", "reason"],
            registry=registry,
        )


def subscribe_reliably(
    broker: KafkaBroker,
    topic: TopicSpec,
    group_id: str,
    event_type: type[E],
    handler: Callable[[E], Awaitable[None]],
    registry: CollectorRegistry,
    policy: RetryPolicy | None = None,
) -> None:
    """Consume ``topic`` as ``group_id``, passing each parsed event to ``handler``.

    ``handler`` must be idempotent: after a crash the last uncommitted messages are delivered again.
    """
    retry = policy or RetryPolicy()
    metrics = DeadLetterMetrics(registry)

    async def dead_letter(message: KafkaMessage, reason: str, error: str, attempts: int) -> None:
        record = message.raw_message
        if isinstance(record, tuple):
            raise TypeError("subscribe_reliably consumes one record at a time, not batches")
        headers = {
            **{k: str(v) for k, v in message.headers.items()},
            "x-dead-letter-reason": reason,
            "x-error": error[-4000:],
            "x-attempts": str(attempts),
            "x-source-topic": record.topic,
            "x-source-partition": str(record.partition),
            "x-source-offset": str(record.offset),
        }
        await broker.publish(message.body, topic.dead_letter.name, key=record.key, headers=headers)
        metrics.dead_lettered.labels(topic.name, reason).inc()
        log.error(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error.splitlines()[-1] if error else "",
            attempts=attempts,
        )

    @broker.subscriber(
        topic.name, group_id=group_id, auto_offset_reset="earliest", max_poll_records=64
    )
    async def consume(message: KafkaMessage) -> None:
        try:
            event = event_type.model_validate_json(message.body)
        except ValidationError as exc:
            await dead_letter(message, "invalid", str(exc), attempts=0)
            return
        for attempt in range(1, retry.max_attempts + 1):
            try:
                await handler(event)
                return
            except Exception:
                error = traceback.format_exc()
                if attempt == retry.max_attempts:
                    await dead_letter(message, "failed", error, attempts=attempt)
                    return
                log.warning(
                    "handler failed, will retry",
                    topic=topic.name,
                    attempt=attempt,
                    error=error.splitlines()[-1],
                )
                await asyncio.sleep(retry.backoff(attempt))
