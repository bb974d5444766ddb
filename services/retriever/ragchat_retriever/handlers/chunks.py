"""The ``chunk.embedded`` subscriber: batches of chunks to the indexer (``ChunkIndexer.index``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from ragchat_common.consumer import subscribe_reliably_in_batches
from ragchat_common.events import ChunkTopicEvent
from ragchat_common.topics import CHUNK_EMBEDDED, TopicSpec

from ragchat_retriever.settings import RetrieverSettings


def subscribe_chunk_indexing(
    broker: KafkaBroker,
    index: Callable[[list[ChunkTopicEvent]], Awaitable[None]],
    settings: RetrieverSettings,
    registry: CollectorRegistry,
    topic: TopicSpec = CHUNK_EMBEDDED,
) -> None:
    """Consume ``topic`` (chunks and page removals) in batches collected up to a size or a time
    and pass each batch to ``index``.

    Offsets are committed only after a batch is indexed (or its bad chunks dead-lettered).
    """
    subscribe_reliably_in_batches(
        broker,
        topic,
        settings.indexer_group_id,
        ChunkTopicEvent,
        index,
        registry,
        policy=settings.indexer_retry(),
        max_records=settings.indexer_batch_max_records,
        max_wait_ms=settings.indexer_batch_max_wait_ms,
        min_bytes=settings.indexer_batch_min_bytes,
        max_partition_bytes=settings.indexer_partition_max_bytes,
    )
