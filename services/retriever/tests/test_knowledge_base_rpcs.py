"""RetrieverService.KnowledgeBaseStats, DeleteKnowledgeBase and Embed through a real gRPC server
over a real OpenSearch index: stats count distinct pages and chunks per knowledge base, deletion
removes one knowledge base's chunks and nothing else, Embed returns the text model's vectors."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

import grpc
import pytest
from prometheus_client import CollectorRegistry
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.rpc import start_grpc_server
from ragchat_common.settings import OpenSearchSettings
from ragchat_retriever.api.search import SERVICE_NAME, RetrieverService, SearchMetrics, register
from ragchat_retriever.domain.chunks import chunk_document
from ragchat_retriever.encoders.loaded import QueryModels
from ragchat_retriever.main import create_searcher
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import ensure_chunk_index
from ragchat_retriever.store.knowledge_bases import KnowledgeBaseIndex

from .chunk_factory import page_chunks

pytestmark = pytest.mark.integration

KB_A = uuid4()
KB_B = uuid4()


@dataclass
class Served:
    """A retriever gRPC server over a test index."""

    stub: retriever_pb2_grpc.RetrieverServiceStub
    index: KnowledgeBaseIndex


@pytest.fixture
async def served(
    opensearch: OpenSearchSettings, unique: str, query_models: QueryModels
) -> AsyncIterator[Served]:
    """Kb A: 3 pages with 2+2+1 chunks; kb B: 1 page with 3 chunks."""
    settings = RetrieverSettings(index_alias=f"test-kbrpc-{unique}", opensearch=opensearch)
    client = create_opensearch(opensearch)
    await ensure_chunk_index(client, settings.chunk_index())
    events = [
        *page_chunks(KB_A, "https://a.example/1", ["one a", "one b"], seed=1),
        *page_chunks(KB_A, "https://a.example/2", ["two a", "two b"], seed=2),
        *page_chunks(KB_A, "https://a.example/3", ["three"], seed=3),
        *page_chunks(KB_B, "https://b.example/1", ["b one", "b two", "b three"], seed=4),
    ]
    await ChunkStore(client, settings.index_alias).index(
        {e.chunk_id: chunk_document(e, image_vectors=False) for e in events}
    )
    await client.indices.refresh(index=settings.index_alias)
    kb_index = KnowledgeBaseIndex(client, settings.index_alias)
    service = RetrieverService(
        create_searcher(settings, client, query_models),
        settings.index_alias,
        settings.index_version,
        SearchMetrics(CollectorRegistry()),
        kb_index=kb_index,
        text_models=query_models,
    )
    server = await start_grpc_server("127.0.0.1", 0, [register(service)], [SERVICE_NAME])
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Served(retriever_pb2_grpc.RetrieverServiceStub(channel), kb_index)
    finally:
        await channel.close()
        await server.stop(0)
        await client.indices.delete(index=f"{settings.index_alias}-v*")
        await client.close()


async def _stats(served: Served, *kb_ids: UUID) -> dict[str, retriever_pb2.KnowledgeBaseStat]:
    reply = await served.stub.KnowledgeBaseStats(
        retriever_pb2.KnowledgeBaseStatsRequest(kb_ids=[str(k) for k in kb_ids]), timeout=30
    )
    return {s.kb_id: s for s in reply.stats}


async def test_stats_count_distinct_pages_and_chunks_per_knowledge_base(served: Served) -> None:
    empty = uuid4()
    stats = await _stats(served, KB_A, KB_B, empty)

    assert (stats[str(KB_A)].pages, stats[str(KB_A)].chunks) == (3, 5)
    assert (stats[str(KB_B)].pages, stats[str(KB_B)].chunks) == (1, 3)
    assert (stats[str(empty)].pages, stats[str(empty)].chunks) == (0, 0)
    assert stats[str(empty)].last_indexed_at_ms == 0
    newest = datetime.fromtimestamp(stats[str(KB_A)].last_indexed_at_ms / 1000, UTC)
    assert abs((datetime.now(UTC) - newest).total_seconds()) < 3600


async def test_deleting_a_knowledge_base_removes_its_chunks_only(served: Served) -> None:
    reply = await served.stub.DeleteKnowledgeBase(
        retriever_pb2.DeleteKnowledgeBaseRequest(kb_id=str(KB_A)), timeout=30
    )

    assert reply.deleted_chunks == 5
    stats = await _stats(served, KB_A, KB_B)
    assert (stats[str(KB_A)].pages, stats[str(KB_A)].chunks) == (0, 0)
    assert (stats[str(KB_B)].pages, stats[str(KB_B)].chunks) == (1, 3)
    again = await served.stub.DeleteKnowledgeBase(
        retriever_pb2.DeleteKnowledgeBaseRequest(kb_id=str(KB_A)), timeout=30
    )
    assert again.deleted_chunks == 0


async def test_embed_returns_unit_vectors_of_the_query_model_in_order(
    served: Served, query_models: QueryModels
) -> None:
    texts = ["how do I reset my password", "opening hours on sunday"]
    reply = await served.stub.Embed(retriever_pb2.EmbedRequest(texts=texts), timeout=60)

    assert len(reply.embeddings) == 2
    for text, embedding in zip(texts, reply.embeddings, strict=True):
        assert len(embedding.values) == 384
        assert math.isclose(math.fsum(v * v for v in embedding.values), 1.0, rel_tol=1e-3)
        single = await query_models.embed(text)
        pairs = zip(embedding.values, single, strict=True)
        assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in pairs)


@pytest.mark.parametrize(
    ("call", "request_message"),
    [
        ("KnowledgeBaseStats", retriever_pb2.KnowledgeBaseStatsRequest()),
        ("DeleteKnowledgeBase", retriever_pb2.DeleteKnowledgeBaseRequest()),
        ("Embed", retriever_pb2.EmbedRequest()),
        ("Embed", retriever_pb2.EmbedRequest(texts=["x" * 5000])),
    ],
)
async def test_requests_without_what_they_need_are_invalid(
    served: Served, call: str, request_message: object
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await getattr(served.stub, call)(request_message, timeout=30)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
