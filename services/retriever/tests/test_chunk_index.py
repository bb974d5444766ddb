"""The chunks index bootstrap against a real OpenSearch: created once with the expected mapping,
idempotent when replicas start together, and moved to a new version without losing documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from uuid import uuid4

import pytest
from opensearchpy import AsyncOpenSearch
from prometheus_client import CollectorRegistry
from ragchat_common.events import ChunkTopicEvent, ImageRef
from ragchat_common.settings import OpenSearchSettings
from ragchat_retriever.domain.chunks import chunk_document
from ragchat_retriever.domain.indexer import ChunkIndexer, IndexerMetrics
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import (
    ChunkIndexSpec,
    chunk_index_probe,
    ensure_chunk_index,
    live_index_version,
)

from .chunk_factory import page_chunks

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(opensearch: OpenSearchSettings, unique: str) -> AsyncIterator[AsyncOpenSearch]:
    client = create_opensearch(opensearch)
    try:
        yield client
    finally:
        await client.indices.delete(index=f"test-chunks-{unique}-v*")
        await client.close()


async def test_replicas_starting_together_create_the_index_once_with_its_mapping(
    client: AsyncOpenSearch, opensearch: OpenSearchSettings, unique: str
) -> None:
    spec = ChunkIndexSpec(alias=f"test-chunks-{unique}", version=1)
    replicas = [create_opensearch(opensearch) for _ in range(3)]
    try:
        await asyncio.gather(*(ensure_chunk_index(r, spec) for r in replicas))
    finally:
        await asyncio.gather(*(r.close() for r in replicas))
    created = (await client.indices.get_settings(index=spec.index))[spec.index]["settings"]
    await ensure_chunk_index(client, spec)  # a restart

    assert await client.indices.get_alias(name=spec.alias) == {
        spec.index: {"aliases": {spec.alias: {"is_write_index": True}}}
    }
    after = (await client.indices.get_settings(index=spec.index))[spec.index]["settings"]
    assert after["index"]["uuid"] == created["index"]["uuid"], "the index was created again"
    assert created["index"]["knn"] == "true"
    assert created["index"]["refresh_interval"] == "1s", "search-idle shards stop refreshing"
    assert (created["index"]["number_of_shards"], created["index"]["number_of_replicas"]) == (
        "1",
        "0",
    )
    mapping = (await client.indices.get_mapping(index=spec.alias))[spec.index]["mappings"]
    fields = mapping["properties"]
    assert fields["vector"] == {
        "type": "knn_vector",
        "dimension": 384,
        "method": {
            "engine": "lucene",
            "space_type": "cosinesimil",
            "name": "hnsw",
            "parameters": {},
        },
    }
    assert "image_vector" not in fields
    for name in ("text", "title", "heading_path"):
        assert fields[name] == {"type": "text", "analyzer": "english"}
    for name in ("chunk_id", "page_id", "kb_id", "tenant_id", "content_type", "language"):
        assert fields[name]["type"] == "keyword"
    assert fields["url"]["type"] == "keyword"
    assert fields["crawled_at"]["type"] == "date"
    assert set(fields["image"]["properties"]) == {"src", "alt", "title", "caption"}
    assert await live_index_version(client, spec.alias) == 1
    assert await chunk_index_probe(client, spec)() == f"{spec.alias} -> {spec.index} (version 1)"


async def test_a_new_version_is_filled_from_the_old_one_before_the_alias_moves(
    client: AsyncOpenSearch, unique: str
) -> None:
    v1 = ChunkIndexSpec(alias=f"test-chunks-{unique}", version=1)
    v2 = ChunkIndexSpec(alias=v1.alias, version=2, image_vectors=True)
    await ensure_chunk_index(client, v1)
    chunks = page_chunks(uuid4(), "https://example.com/a", ["alpha", "beta"])
    for chunk in chunks:
        await client.index(
            index=v1.alias, id=chunk.chunk_id, body=chunk_document(chunk, image_vectors=False)
        )

    await ensure_chunk_index(client, v2)

    assert list(await client.indices.get_alias(name=v1.alias)) == [v2.index]
    assert await live_index_version(client, v1.alias) == 2
    found = await client.search(index=v1.alias, body={"query": {"match_all": {}}})
    assert sorted(h["_id"] for h in found["hits"]["hits"]) == sorted(c.chunk_id for c in chunks)
    mapping = (await client.indices.get_mapping(index=v2.index))[v2.index]["mappings"]
    assert mapping["properties"]["image_vector"]["dimension"] == 512

    await ensure_chunk_index(client, v1)  # an old replica restarting mid-rollout
    assert list(await client.indices.get_alias(name=v1.alias)) == [v2.index]


async def test_an_index_squatting_on_the_alias_name_is_refused_with_a_clear_error(
    client: AsyncOpenSearch, unique: str
) -> None:
    spec = ChunkIndexSpec(alias=f"test-chunks-{unique}", version=1)
    await client.indices.create(index=spec.alias)
    try:
        with pytest.raises(RuntimeError, match="exists where the alias should be"):
            await ensure_chunk_index(client, spec)
    finally:
        await client.indices.delete(index=spec.alias)


async def test_turning_image_vectors_on_adds_their_field_to_the_existing_index(
    client: AsyncOpenSearch, unique: str
) -> None:
    without = ChunkIndexSpec(alias=f"test-chunks-{unique}", version=1)
    await ensure_chunk_index(client, without)

    await ensure_chunk_index(client, replace(without, image_vectors=True))
    await ensure_chunk_index(client, replace(without, image_vectors=True))

    mapping = (await client.indices.get_mapping(index=without.alias))[without.index]["mappings"]
    assert mapping["properties"]["image_vector"]["dimension"] == 512
    assert mapping["properties"]["image_vector"]["method"]["engine"] == "lucene"


async def test_an_image_chunk_is_found_by_its_image_vector_when_image_vectors_are_on(
    client: AsyncOpenSearch, unique: str
) -> None:
    spec = ChunkIndexSpec(alias=f"test-chunks-{unique}", version=1, image_vectors=True)
    await ensure_chunk_index(client, spec)
    image = ImageRef(src="https://example.com/panel.png", alt="router back panel")
    chunks = [
        chunk.model_copy(update={"image_vector": [float(i == n) for i in range(512)]})
        for n, chunk in enumerate(
            page_chunks(uuid4(), "https://example.com/a", ["ports", "lights"], image=image)
        )
    ]
    metrics = IndexerMetrics(CollectorRegistry())
    indexer = ChunkIndexer(ChunkStore(client, spec.alias), image_vectors=True, metrics=metrics)

    await indexer.index([ChunkTopicEvent(chunk) for chunk in chunks])

    await client.indices.refresh(index=spec.alias)
    query = {"knn": {"image_vector": {"vector": chunks[1].image_vector, "k": 1}}}
    found = await client.search(index=spec.alias, body={"size": 1, "query": query})
    (hit,) = found["hits"]["hits"]
    assert hit["_id"] == chunks[1].chunk_id
    assert hit["_source"]["image"]["alt"] == "router back panel"
