"""Kafka topic names and partition counts: the one place they are defined.

``ragchat-topics`` (this module's :func:`main`) creates every topic, and its dead-letter twin,
idempotently. Brokers run with automatic topic creation off, so a misspelt topic fails loudly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from ragchat_common.logs import configure_logging, get_logger
from ragchat_common.settings import KafkaSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    """A topic and the number of partitions its consumers need."""

    name: str
    partitions: int

    @property
    def dead_letter(self) -> TopicSpec:
        """The ``<topic>.dlq`` topic for messages that failed every retry."""
        return TopicSpec(f"{self.name}.dlq", 1)


URL_SUBMITTED = TopicSpec("url.submitted", 3)
PAGE_PARSED = TopicSpec("page.parsed", 6)
CHUNK_EMBEDDED = TopicSpec("chunk.embedded", 6)
CRAWL_PROGRESS = TopicSpec("crawl.progress", 3)
CHAT_TURN = TopicSpec("chat.turn", 3)

INPUT_TOPICS = (URL_SUBMITTED, PAGE_PARSED, CHUNK_EMBEDDED, CRAWL_PROGRESS, CHAT_TURN)
ALL_TOPICS = INPUT_TOPICS + tuple(t.dead_letter for t in INPUT_TOPICS)


async def ensure_topics(
    bootstrap_servers: str,
    specs: tuple[TopicSpec, ...] = ALL_TOPICS,
    replication_factor: int = 1,
) -> None:
    """Create missing topics and grow topics that have fewer partitions than their spec."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = await admin.describe_topics([s.name for s in specs])
        current = {
            t["topic"]: len(t["partitions"]) for t in existing if t.get("error_code", 0) == 0
        }
        missing = [s for s in specs if s.name not in current]
        if missing:
            created = await admin.create_topics(
                [NewTopic(s.name, s.partitions, replication_factor) for s in missing]
            )
            _raise_for_topic_errors(created.to_object())
        grow = {
            s.name: NewPartitions(s.partitions)
            for s in specs
            if s.name in current and current[s.name] < s.partitions
        }
        if grow:
            _raise_for_topic_errors((await admin.create_partitions(grow)).to_object())
        log.info("topics ready", created=[s.name for s in missing], grown=sorted(grow))
    finally:
        await admin.close()


def _raise_for_topic_errors(response: dict[str, Any]) -> None:
    """Kafka answers topic requests with an error code per topic instead of raising."""
    for item in response["topic_errors"]:
        code = item["error_code"]
        # Another process may have created the topic between our describe and create.
        if code not in (0, TopicAlreadyExistsError.errno):
            raise for_code(code)(f"topic {item['topic']}: {item.get('error_message')}")


def main() -> None:
    """Entry point of ``ragchat-topics``."""
    configure_logging("topics")
    settings = KafkaSettings()
    asyncio.run(
        ensure_topics(
            settings.bootstrap_servers, replication_factor=settings.topic_replication_factor
        )
    )
