"""RetrieverService.Search through a real gRPC server on a free port, over a real OpenSearch index
holding a small hand-made corpus embedded with the real all-MiniLM-L6-v2: each mode finds what it
should, hybrid ranks at least as well as either single mode, pages are capped, snippets are
highlighted, and no mode ever returns a chunk of a knowledge base the caller did not name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opensearchpy import AsyncOpenSearch
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

from .search_corpus import KB_A, KB_B, LABELLED, TENANT_A, TENANT_B, all_texts, chunk_events

pytestmark = pytest.mark.integration

MODES = {
    "hybrid": retriever_pb2.SEARCH_MODE_HYBRID,
    "bm25": retriever_pb2.SEARCH_MODE_BM25,
    "vector": retriever_pb2.SEARCH_MODE_VECTOR,
}


@pytest.fixture(scope="session")
async def corpus_vectors(query_models: QueryModels) -> dict[str, list[float]]:
    """Every corpus text embedded once with the real model (the embedder's, for passages)."""
    return {text: list(await query_models.embed(text)) for text in all_texts()}


@dataclass
class Retriever:
    """One test's index and gRPC server."""

    stub: retriever_pb2_grpc.RetrieverServiceStub
    channel: grpc.aio.Channel
    client: AsyncOpenSearch
    texts: dict[str, str]
    """Chunk id -> text of every indexed chunk."""
    kbs: dict[str, str]
    """Chunk id -> kb id of every indexed chunk."""

    async def search(
        self,
        query: str,
        kb_ids: list[UUID],
        mode: int = retriever_pb2.SEARCH_MODE_HYBRID,
        k: int = 5,
        **fields: object,
    ) -> list[retriever_pb2.SearchHit]:
        """The hits of one search."""
        request = retriever_pb2.SearchRequest(
            query=query, kb_ids=[str(kb) for kb in kb_ids], mode=mode, k=k, **fields
        )
        return list((await self.stub.Search(request, timeout=30)).hits)


async def start_retriever(
    opensearch: OpenSearchSettings,
    unique: str,
    models: QueryModels,
    vectors: dict[str, list[float]],
    **overrides: object,
) -> AsyncIterator[Retriever]:
    """Index the corpus under a fresh alias and serve search over it on a free port."""
    settings = RetrieverSettings(
        index_alias=f"test-search-{unique}", opensearch=opensearch, **overrides
    )
    client = create_opensearch(opensearch)
    await ensure_chunk_index(client, settings.chunk_index())
    events = chunk_events(vectors)
    outcome = await ChunkStore(client, settings.index_alias).index(
        {e.chunk_id: chunk_document(e, image_vectors=False) for e in events}
    )
    assert len(outcome.indexed) == len(events)
    service = RetrieverService(
        create_searcher(settings, client, models),
        settings.index_alias,
        settings.index_version,
        SearchMetrics(CollectorRegistry()),
    )
    server = await start_grpc_server("127.0.0.1", 0, [register(service)], [SERVICE_NAME])
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Retriever(
            retriever_pb2_grpc.RetrieverServiceStub(channel),
            channel,
            client,
            {e.chunk_id: e.text for e in events},
            {e.chunk_id: str(e.kb_id) for e in events},
        )
    finally:
        await channel.close()
        await server.stop(0)
        await client.indices.delete(index=f"{settings.index_alias}-v*")
        await client.close()


@pytest.fixture
async def retriever(
    opensearch: OpenSearchSettings,
    unique: str,
    query_models: QueryModels,
    corpus_vectors: dict[str, list[float]],
) -> AsyncIterator[Retriever]:
    async for running in start_retriever(opensearch, unique, query_models, corpus_vectors):
        yield running


def first_text(hits: list[retriever_pb2.SearchHit]) -> str:
    assert hits, "no hits"
    return hits[0].text


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_each_mode_finds_the_answering_chunk_with_its_page_fields(
    retriever: Retriever, mode: str
) -> None:
    hits = await retriever.search("laptop warranty", [KB_A], MODES[mode])

    top = hits[0]
    assert top.text.startswith("Every laptop comes with a two-year warranty")
    assert (top.url, top.title, list(top.heading_path)) == (
        "https://shop-a.example/help/warranty",
        "Warranty",
        ["Products", "Warranty"],
    )
    assert top.kb_id == str(KB_A)
    assert retriever.texts[top.chunk_id] == top.text
    assert top.page_id and top.score > 0
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_vector_mode_finds_a_paraphrase_that_shares_no_word_with_the_chunk(
    retriever: Retriever,
) -> None:
    question = "I can't log in, I lost my credentials"

    vector = await retriever.search(question, [KB_A], retriever_pb2.SEARCH_MODE_VECTOR)
    bm25 = await retriever.search(question, [KB_A], retriever_pb2.SEARCH_MODE_BM25)

    assert first_text(vector).startswith("Forgot your password?")
    assert not bm25, "no word of the question is in the corpus, so BM25 finds nothing"


async def test_bm25_mode_weighs_titles_and_headings(retriever: Retriever) -> None:
    # "Conditions" is only a heading, never in a chunk's text.
    hits = await retriever.search("conditions", [KB_A], retriever_pb2.SEARCH_MODE_BM25)

    assert [h.text for h in hits] == [retriever.texts[hits[0].chunk_id]]
    assert hits[0].text.startswith("Items must be unused")
    assert list(hits[0].heading_path) == ["Orders", "Returns", "Conditions"]


async def test_image_chunks_carry_their_image_reference(retriever: Retriever) -> None:
    hits = await retriever.search("Berlin store map", [KB_A], k=1)

    assert [(i.src, i.alt, i.caption) for i in hits[0].images] == [
        (
            "https://shop-a.example/img/berlin-map.png",
            "Map of our Berlin store",
            "The Berlin flagship store on Alexanderplatz",
        )
    ]


def found_in(hits: list[retriever_pb2.SearchHit], answer: str) -> bool:
    return any(hit.text.startswith(answer) for hit in hits)


async def test_hybrid_finds_the_labelled_answers_at_least_as_often_as_either_single_mode(
    retriever: Retriever,
) -> None:
    # Recall@3: the answer is among the first three passages (what a prompt would be given).
    recall = {}
    for mode, value in MODES.items():
        found = [
            found_in(await retriever.search(question, [KB_A], value, k=3), answer)
            for question, answer in LABELLED
        ]
        recall[mode] = sum(found) / len(found)

    assert recall["hybrid"] >= recall["vector"], recall
    assert recall["hybrid"] > recall["bm25"], recall
    assert recall["hybrid"] == 1.0, recall


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_at_most_two_chunks_of_a_page_by_default(retriever: Retriever, mode: str) -> None:
    hits = await retriever.search("return refund items", [KB_A], MODES[mode], k=5)

    returns_page = [h for h in hits if h.url == "https://shop-a.example/help/returns"]
    assert len(returns_page) == 2, [h.text for h in hits]
    assert len(hits) == (5 if mode != "bm25" else len(hits))


async def test_the_per_page_cap_is_a_setting(
    opensearch: OpenSearchSettings,
    unique: str,
    query_models: QueryModels,
    corpus_vectors: dict[str, list[float]],
) -> None:
    running = start_retriever(
        opensearch, unique, query_models, corpus_vectors, search_max_chunks_per_page=1
    )
    retriever = await anext(running)
    try:
        hits = await retriever.search("return refund items", [KB_A], k=5)
    finally:
        await running.aclose()

    urls = [h.url for h in hits]
    assert len(urls) == len(set(urls)) == 5, urls


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_snippets_mark_the_matched_words(retriever: Retriever, mode: str) -> None:
    hits = await retriever.search("prepaid label", [KB_A], MODES[mode], k=1)

    assert hits[0].text.startswith("To start a return")
    assert "<mark>prepaid</mark> <mark>label</mark>" in hits[0].snippet
    assert len(hits[0].snippet) < len(hits[0].text) + 40


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_a_caller_of_one_kb_never_sees_another_kbs_chunks(
    retriever: Retriever, mode: str
) -> None:
    # Both knowledge bases explain returns; only B sells gift cards.
    for question in ("returns within 30 days for a full refund", "gift cards never expire"):
        a_only = await retriever.search(question, [KB_A], MODES[mode], k=20)
        b_only = await retriever.search(question, [KB_B], MODES[mode], k=20)
        both = await retriever.search(question, [KB_A, KB_B], MODES[mode], k=20)

        assert {h.kb_id for h in a_only} <= {str(KB_A)}
        assert {h.kb_id for h in b_only} == {str(KB_B)}
        assert str(KB_B) in {h.kb_id for h in both} <= {str(KB_A), str(KB_B)}
        assert all(retriever.kbs[h.chunk_id] == h.kb_id for h in a_only + b_only + both)
    gift = await retriever.search("gift cards never expire", [KB_B], MODES[mode], k=1)
    assert first_text(gift).startswith("Gift cards never expire")


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_a_tenant_id_narrows_to_that_tenant(retriever: Retriever, mode: str) -> None:
    own = await retriever.search("refund", [KB_A], MODES[mode], tenant_id=str(TENANT_A))
    other = await retriever.search("refund", [KB_A], MODES[mode], tenant_id=str(TENANT_B))

    assert own and {h.kb_id for h in own} == {str(KB_A)}
    assert other == []


@pytest.mark.parametrize("mode", [*sorted(MODES), "image"])
async def test_a_search_without_kb_ids_is_refused(retriever: Retriever, mode: str) -> None:
    value = MODES.get(mode, retriever_pb2.SEARCH_MODE_IMAGE)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await retriever.search("refund", [], value)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "kb_ids is required" in str(refused.value.details())


async def test_filters_narrow_within_the_scope(retriever: Retriever) -> None:
    prefix = retriever_pb2.SearchFilters(url_prefix="https://shop-a.example/help/ship")
    hits = await retriever.search("delivery", [KB_A], filters=prefix)
    none = await retriever.search(
        "delivery", [KB_A], filters=retriever_pb2.SearchFilters(languages=["de"])
    )

    assert {h.url for h in hits} == {"https://shop-a.example/help/shipping"}
    assert none == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"query": "  "}, "query is required"),
        ({"k": 101}, "k must be between 1 and 100"),
        ({"k": -1}, "k must be between 1 and 100"),
        ({"image": b"\x89PNG"}, "an image query needs mode image"),
    ],
)
async def test_bad_requests_are_refused_with_the_reason(
    retriever: Retriever, fields: dict[str, object], message: str
) -> None:
    request = retriever_pb2.SearchRequest(
        **{"query": "refund", "kb_ids": [str(KB_A)], **fields}  # type: ignore[arg-type]
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await retriever.stub.Search(request, timeout=30)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in str(refused.value.details())


async def test_image_mode_is_a_failed_precondition_without_image_vectors(
    retriever: Retriever,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await retriever.search("store map", [KB_A], retriever_pb2.SEARCH_MODE_IMAGE)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "image search is off" in str(refused.value.details())


async def test_default_k_and_index_version(retriever: Retriever) -> None:
    request = retriever_pb2.SearchRequest(query="refund", kb_ids=[str(KB_A)])
    reply = await retriever.stub.Search(request, timeout=30)

    assert 0 < len(reply.hits) <= 10
    assert reply.index_version == "1"
    assert reply.took_ms > 0


async def test_grpc_health_and_reflection_list_the_retriever_service(retriever: Retriever) -> None:
    health = await health_pb2_grpc.HealthStub(retriever.channel).Check(
        health_pb2.HealthCheckRequest(), timeout=5
    )
    replies = reflection_pb2_grpc.ServerReflectionStub(retriever.channel).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name async for reply in replies for s in reply.list_services_response.service}

    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert {"ragchat.v1.RetrieverService", "grpc.health.v1.Health"} <= names
