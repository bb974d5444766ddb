"""ChunkIndexer end to end on real Kafka and OpenSearch: chunks published to a topic end up in the
index exactly once, re-crawls replace old chunks, bad chunks are dead-lettered alone, and nothing
is committed while OpenSearch cannot take the chunks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from opensearchpy import AsyncOpenSearch
from prometheus_client import CollectorRegistry
from ragchat_common.broker import create_broker
from ragchat_common.consumer import DependencyUnavailable
from ragchat_common.events import ChunkEmbedded, ChunkTopicEvent, PageRemoved
from ragchat_common.settings import KafkaSettings, OpenSearchSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_retriever.domain.indexer import ChunkIndexer, IndexerMetrics
from ragchat_retriever.handlers.chunks import subscribe_chunk_indexing
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import ensure_chunk_index

from .chunk_factory import page_chunks

pytestmark = pytest.mark.integration

Index = Callable[[list[ChunkTopicEvent]], Awaitable[None]]


@dataclass
class Pipeline:
    """One test's topic, index and consumer group, on the real servers."""

    kafka: KafkaSettings
    settings: RetrieverSettings
    topic: TopicSpec
    client: AsyncOpenSearch
    indexer: ChunkIndexer
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    """The broker's registry (a new one per pipeline: a registry takes each metric once)."""
    indexer_metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
    """The registry of ``indexer``'s metrics."""

    async def publish(self, chunks: Sequence[ChunkEmbedded | PageRemoved]) -> None:
        """Publish chunks (and page removals) keyed by page id, as the embedder does."""
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            for chunk in chunks:
                await producer.send_and_wait(
                    self.topic.name, chunk.model_dump_json().encode(), key=chunk.page_id.encode()
                )
        finally:
            await producer.stop()

    @asynccontextmanager
    async def consuming(self, index: Index | None = None) -> AsyncIterator[None]:
        """Run the chunk subscriber (with ``index`` instead of the indexer, when given)."""
        broker = create_broker("retriever-test", self.kafka, self.registry)
        subscribe_chunk_indexing(
            broker, index or self.indexer.index, self.settings, self.registry, self.topic
        )
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()

    async def committed(self) -> int | None:
        """The committed offset of the test's group on the topic's only partition."""
        check = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers, group_id=self.settings.indexer_group_id
        )
        await check.start()
        try:
            return await check.committed(TopicPartition(self.topic.name, 0))  # type: ignore[no-any-return]
        finally:
            await check.stop()

    async def until_committed(self, count: int) -> None:
        """Wait until the group has committed ``count`` messages (the condition, not a time)."""
        async with asyncio.timeout(60):
            while True:
                if (await self.committed() or 0) >= count:
                    return
                await asyncio.sleep(0.1)

    async def dead_letters(self) -> list[Any]:
        """Every record on the topic's dead-letter twin."""
        reader = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers, auto_offset_reset="earliest"
        )
        await reader.start()
        try:
            partition = TopicPartition(self.topic.dead_letter.name, 0)
            reader.assign([partition])
            end = (await reader.end_offsets([partition]))[partition]
            records: list[Any] = []
            async with asyncio.timeout(30):
                while len(records) < end:
                    records.append(await reader.getone())
            return records
        finally:
            await reader.stop()

    async def indexed(self, query: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Chunk id -> document of everything the alias holds (matching ``query``)."""
        await self.client.indices.refresh(index=self.settings.index_alias)
        found = await self.client.search(
            index=self.settings.index_alias,
            body={"size": 1000, "query": query or {"match_all": {}}},
        )
        return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}


@pytest.fixture
async def pipeline(
    kafka: KafkaSettings, opensearch: OpenSearchSettings, unique: str
) -> AsyncIterator[Pipeline]:
    topic = TopicSpec(f"test.chunks.{unique}", 1)
    await ensure_topics(kafka.bootstrap_servers, (topic, topic.dead_letter))
    settings = RetrieverSettings(
        index_alias=f"test-chunks-{unique}",
        indexer_group_id=f"test-indexer-{unique}",
        indexer_batch_max_records=64,
        indexer_batch_max_wait_ms=300,
        indexer_max_attempts=2,
        indexer_first_backoff_s=0.05,
        indexer_pause_s=0.2,
    )
    client = create_opensearch(opensearch)
    spec = settings.chunk_index()
    await ensure_chunk_index(client, spec)
    metrics = CollectorRegistry()
    indexer = ChunkIndexer(ChunkStore(client, spec.alias), False, IndexerMetrics(metrics))
    try:
        yield Pipeline(kafka, settings, topic, client, indexer, indexer_metrics=metrics)
    finally:
        await client.indices.delete(index=spec.index)
        await client.close()


async def test_chunks_are_indexed_and_found_only_within_their_knowledge_base(
    pipeline: Pipeline,
) -> None:
    kb_a, kb_b = uuid4(), uuid4()
    router = page_chunks(
        kb_a,
        "https://a.example/router",
        ["Resetting the router password takes three steps.", "Unplug the router first."],
        seed=1,
    )
    billing = page_chunks(kb_a, "https://a.example/billing", ["Invoices are sent monthly."], seed=2)
    other_kb = page_chunks(
        kb_b, "https://b.example/router", ["How to reset a router password in kb B."], seed=3
    )
    chunks = [*router, *billing, *other_kb]
    await pipeline.publish(chunks)

    async with pipeline.consuming():
        await pipeline.until_committed(len(chunks))

    in_a = {"term": {"kb_id": str(kb_a)}}
    everything = await pipeline.indexed()
    assert set(everything) == {c.chunk_id for c in chunks}
    assert everything[router[0].chunk_id]["heading_path"] == ["Guide", "Section 0"]
    words = await pipeline.indexed(
        {"bool": {"filter": [in_a], "must": [{"match": {"text": "reset passwords"}}]}}
    )
    assert set(words) == {router[0].chunk_id}, "English stemming or the kb filter failed"
    nearest = await pipeline.client.search(
        index=pipeline.settings.index_alias,
        body={
            "size": 1,
            "query": {"knn": {"vector": {"vector": billing[0].vector, "k": 3, "filter": in_a}}},
        },
    )
    assert [h["_id"] for h in nearest["hits"]["hits"]] == [billing[0].chunk_id]
    assert await pipeline.dead_letters() == []


async def test_redelivered_chunks_do_not_duplicate(pipeline: Pipeline) -> None:
    chunks = page_chunks(uuid4(), "https://a.example/faq", ["q1", "q2", "q3"])
    await pipeline.publish([*chunks, *chunks])  # the producer retried after a lost ack

    async with pipeline.consuming():
        await pipeline.until_committed(6)
    # A crash before the commit delivers everything again, to the same group.
    replay = pipeline.settings.model_copy(update={"indexer_group_id": f"replay-{uuid4().hex}"})
    again = Pipeline(pipeline.kafka, replay, pipeline.topic, pipeline.client, pipeline.indexer)
    async with again.consuming():
        await again.until_committed(6)

    assert set(await pipeline.indexed()) == {c.chunk_id for c in chunks}
    count = await pipeline.client.count(index=pipeline.settings.index_alias)
    assert count["count"] == 3


async def test_a_recrawled_page_ends_with_exactly_its_new_chunks(pipeline: Pipeline) -> None:
    kb = uuid4()
    url = "https://a.example/guide"
    first = page_chunks(kb, url, ["intro", "setup", "usage", "faq", "contact"], seed=1)
    second = page_chunks(kb, url, ["intro", "setup, revised", "usage"], seed=2)
    neighbour = page_chunks(kb, "https://a.example/other", ["unrelated"], seed=3)
    # Batches of at most two: the second crawl's three chunks arrive over several batches.
    settings = pipeline.settings.model_copy(update={"indexer_batch_max_records": 2})
    small = Pipeline(pipeline.kafka, settings, pipeline.topic, pipeline.client, pipeline.indexer)

    await small.publish([*neighbour, *first])
    async with small.consuming():
        await small.until_committed(6)
        assert set(await small.indexed()) == {c.chunk_id for c in [*neighbour, *first]}
        await small.publish(second)
        await small.until_committed(9)

    assert set(await small.indexed()) == {c.chunk_id for c in [*neighbour, *second]}
    assert first[0].chunk_id == second[0].chunk_id, "an unchanged chunk keeps its id"


async def test_a_page_recrawled_right_after_its_first_crawl_ends_with_its_new_chunks(
    pipeline: Pipeline,
) -> None:
    """The old chunks were written a moment before the batch that replaces them: the deletion
    must still see them (it finds chunks by query, which sees only refreshed documents)."""
    kb = uuid4()
    url = "https://a.example/guide"
    first = page_chunks(kb, url, ["intro", "setup", "usage", "faq", "contact"], seed=1)
    second = page_chunks(kb, url, ["intro", "setup, revised", "usage"], seed=2)
    settings = pipeline.settings.model_copy(update={"indexer_batch_max_records": 2})
    small = Pipeline(pipeline.kafka, settings, pipeline.topic, pipeline.client, pipeline.indexer)

    await small.publish([*first, *second])  # both crawls wait in the topic
    async with small.consuming():
        await small.until_committed(8)

    assert set(await small.indexed()) == {c.chunk_id for c in second}


def removal(chunk: ChunkEmbedded, reason: str = "deleted") -> PageRemoved:
    """The embedder's message for a page of ``chunk`` that has no chunks any more."""
    return PageRemoved.model_validate(
        {
            "page_id": chunk.page_id,
            "crawl_id": uuid4(),
            "kb_id": chunk.kb_id,
            "tenant_id": chunk.tenant_id,
            "url": chunk.url,
            "reason": reason,
        }
    )


async def test_a_removed_page_loses_its_chunks_and_a_page_that_comes_back_gets_them_again(
    pipeline: Pipeline,
) -> None:
    kb = uuid4()
    gone = page_chunks(kb, "https://a.example/gone", ["old", "older"], seed=1)
    back = page_chunks(kb, "https://a.example/back", ["was away"], seed=2)
    kept = page_chunks(kb, "https://a.example/kept", ["stays"], seed=3)
    back_again = page_chunks(kb, "https://a.example/back", ["is back"], seed=4)
    await pipeline.publish([*gone, *back, *kept])
    async with pipeline.consuming():
        await pipeline.until_committed(4)
        # A removal, and a removal followed by the page's new chunks.
        await pipeline.publish([removal(gone[0]), removal(back[0], "empty"), *back_again])
        await pipeline.until_committed(7)

    assert set(await pipeline.indexed()) == {c.chunk_id for c in [*kept, *back_again]}
    assert await pipeline.dead_letters() == []


async def test_a_knowledge_base_is_deleted_with_all_its_chunks_and_nothing_else(
    pipeline: Pipeline,
) -> None:
    kb_a, kb_b = uuid4(), uuid4()
    a = page_chunks(kb_a, "https://a.example/x", ["one", "two"], seed=1)
    b = page_chunks(kb_b, "https://b.example/x", ["three"], seed=2)
    await pipeline.publish([*a, *b])
    async with pipeline.consuming():
        await pipeline.until_committed(3)

    deleted = await pipeline.indexer.store.delete_knowledge_base(str(kb_a))

    assert deleted == 2
    assert set(await pipeline.indexed()) == {b[0].chunk_id}


async def test_a_chunk_with_a_malformed_vector_is_dead_lettered_and_its_neighbours_indexed(
    pipeline: Pipeline,
) -> None:
    chunks = page_chunks(uuid4(), "https://a.example/page", ["a", "b", "c", "d", "e"])
    bad = chunks[2].model_copy(update={"vector": chunks[2].vector[:383]})
    chunks[2] = bad
    await pipeline.publish(chunks)  # before the consumer starts: they arrive as one batch

    async with pipeline.consuming():
        await pipeline.until_committed(5)

    assert set(await pipeline.indexed()) == {c.chunk_id for c in chunks if c is not bad}
    (dead,) = await pipeline.dead_letters()
    assert ChunkEmbedded.model_validate_json(dead.value).chunk_id == bad.chunk_id
    headers = dict(dead.headers)
    assert headers["x-dead-letter-reason"] == b"failed"
    assert b"ChunksRejected" in headers["x-error"]
    assert b"dimension" in headers["x-error"]
    outcomes = {
        outcome: pipeline.indexer_metrics.get_sample_value(
            "ragchat_index_chunks_total", {"outcome": outcome}
        )
        for outcome in ("indexed", "rejected")
    }
    assert outcomes["rejected"] == 4.0, "its batch twice, then alone twice (max_attempts=2)"
    assert outcomes["indexed"] >= 4.0


def closed_port() -> int:
    """A local port nothing listens on (taken from the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_nothing_is_committed_while_opensearch_is_unreachable_and_all_is_indexed_after(
    pipeline: Pipeline,
) -> None:
    unreachable = create_opensearch(OpenSearchSettings(url=f"http://127.0.0.1:{closed_port()}"))
    stuck = ChunkIndexer(
        ChunkStore(unreachable, pipeline.settings.index_alias),
        False,
        IndexerMetrics(CollectorRegistry()),
    )
    target = {"indexer": stuck}
    pauses = 0
    paused_twice = asyncio.Event()

    async def index(events: list[ChunkTopicEvent]) -> None:
        nonlocal pauses
        try:
            await target["indexer"].index(events)
        except DependencyUnavailable:
            pauses += 1
            if pauses >= 2:
                paused_twice.set()
            raise

    chunks = [
        *page_chunks(uuid4(), "https://a.example/1", ["one", "two"], seed=1),
        *page_chunks(uuid4(), "https://a.example/2", ["three"], seed=2),
    ]
    await pipeline.publish(chunks)
    try:
        async with pipeline.consuming(index):
            async with asyncio.timeout(60):
                await paused_twice.wait()
            assert await pipeline.committed() is None
            assert await pipeline.indexed() == {}
            target["indexer"] = pipeline.indexer  # OpenSearch is back
            await pipeline.until_committed(len(chunks))
    finally:
        await unreachable.close()

    assert set(await pipeline.indexed()) == {c.chunk_id for c in chunks}
    assert await pipeline.dead_letters() == []


async def test_a_write_blocked_index_pauses_consumption_until_it_takes_writes_again(
    pipeline: Pipeline,
) -> None:
    """Every item fails with a cluster block: the chunks wait, they are not dead-lettered."""
    alias = pipeline.settings.index_alias
    await pipeline.client.indices.put_settings(index=alias, body={"index.blocks.write": True})
    refusals: list[str] = []
    refused_twice = asyncio.Event()

    async def index(events: list[ChunkTopicEvent]) -> None:
        try:
            await pipeline.indexer.index(events)
        except DependencyUnavailable as exc:
            refusals.append(str(exc))
            if len(refusals) >= 2:
                refused_twice.set()
            raise

    chunks = page_chunks(uuid4(), "https://a.example/maintenance", ["x", "y"])
    await pipeline.publish(chunks)
    async with pipeline.consuming(index):
        async with asyncio.timeout(60):
            await refused_twice.wait()
        assert await pipeline.committed() is None
        await pipeline.client.indices.put_settings(index=alias, body={"index.blocks.write": None})
        await pipeline.until_committed(len(chunks))

    assert "cluster_block_exception" in refusals[0]
    assert set(await pipeline.indexed()) == {c.chunk_id for c in chunks}
    assert await pipeline.dead_letters() == []
