"""The search rules without a server: a scope cannot be empty, every query body carries the
scope's filter where OpenSearch applies it before ranking, the store takes nothing else, and
fusion and the per-page cap rank as documented."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch
from ragchat_retriever.domain.search import (
    Candidate,
    ChunkDetailsQuery,
    EmptyScope,
    InvalidSearch,
    KbScope,
    RankedList,
    SearchFilters,
    SearchMode,
    TextMatchQuery,
    VectorQuery,
    cap_per_page,
    reciprocal_rank_fusion,
)
from ragchat_retriever.domain.searcher import ImageSearchUnavailable, SearchTuning, validated_search
from ragchat_retriever.encoders.loaded import QueryModels
from ragchat_retriever.main import create_searcher
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store.search import ChunkSearchStore

pytestmark = pytest.mark.unit

SCOPE = KbScope(("kb-a", "kb-b"), tenant_id="t-1")
SCOPE_FILTER = [{"terms": {"kb_id": ["kb-a", "kb-b"]}}, {"term": {"tenant_id": "t-1"}}]


def hit(chunk_id: str, page_id: str = "p") -> Candidate:
    return Candidate(chunk_id, page_id, 1.0)


@pytest.mark.parametrize("kb_ids", [(), ("",), ("kb-a", "  ")])
def test_a_scope_needs_kb_ids(kb_ids: tuple[str, ...]) -> None:
    with pytest.raises(EmptyScope):
        KbScope(kb_ids)


def test_a_blank_tenant_is_refused_rather_than_ignored() -> None:
    with pytest.raises(EmptyScope):
        KbScope(("kb-a",), tenant_id=" ")


def test_the_bm25_body_filters_by_scope_then_by_the_callers_filters() -> None:
    filters = SearchFilters(content_types=("text/html",), url_prefix="https://a/")
    body = TextMatchQuery(SCOPE, filters, size=7, text="refund").body()

    assert body["size"] == 7
    assert body["query"]["bool"]["filter"] == [
        *SCOPE_FILTER,
        {"terms": {"content_type": ["text/html"]}},
        {"prefix": {"url": "https://a/"}},
    ]
    assert body["_source"] is False, "candidates are loaded whole only once chosen"
    assert body["docvalue_fields"] == ["page_id"]
    assert "highlight" not in body
    assert body["track_total_hits"] is False


def test_the_details_body_loads_only_named_chunks_within_the_scope() -> None:
    filters = SearchFilters(languages=("en",))
    query = ChunkDetailsQuery(
        SCOPE, filters, size=2, chunk_ids=("c1", "c2"), text="refund policy", snippet_chars=80
    )
    body = query.body()

    assert body["query"] == {
        "bool": {
            "filter": [
                *SCOPE_FILTER,
                {"terms": {"language": ["en"]}},
                {"ids": {"values": ["c1", "c2"]}},
            ]
        }
    }
    assert body["size"] == 2
    assert body["_source"] == {"excludes": ["vector", "image_vector"]}
    highlight = body["highlight"]
    assert highlight["highlight_query"] == {"match": {"text": "refund policy"}}
    assert highlight["fields"]["text"]["fragment_size"] == 80


def test_a_details_query_loads_exactly_the_chunks_it_names() -> None:
    with pytest.raises(InvalidSearch):
        ChunkDetailsQuery(SCOPE, SearchFilters(), size=3, chunk_ids=("c1",))


@pytest.mark.parametrize("field", ["vector", "image_vector"])
def test_the_knn_body_prefilters_inside_the_knn_query(field: Any) -> None:
    query = VectorQuery(SCOPE, SearchFilters(), size=5, vector_field=field, vector=(0.1, 0.2))
    body = query.body()

    knn = body["query"]["knn"][field]
    assert knn == {"vector": [0.1, 0.2], "k": 5, "filter": {"bool": {"filter": SCOPE_FILTER}}}
    assert list(body["query"]) == ["knn"], "a filter outside knn would post-filter k neighbours"


def test_a_knn_query_searches_with_its_beam_and_returns_its_size() -> None:
    query = VectorQuery(SCOPE, SearchFilters(), size=50, vector=(0.1, 0.2), beam=100)
    narrow = VectorQuery(SCOPE, SearchFilters(), size=50, vector=(0.1, 0.2), beam=10)

    assert (query.body()["size"], query.body()["query"]["knn"]["vector"]["k"]) == (50, 100)
    assert narrow.body()["query"]["knn"]["vector"]["k"] == 50, "never fewer neighbours than hits"


def test_a_query_needs_a_real_scope() -> None:
    with pytest.raises(TypeError):
        TextMatchQuery({"kb_ids": []}, SearchFilters(), 5, text="x")  # type: ignore[arg-type]


async def test_the_store_sends_nothing_but_scoped_queries() -> None:
    store = ChunkSearchStore(AsyncOpenSearch(hosts=["http://127.0.0.1:1"]), "chunks")
    scoped = TextMatchQuery(SCOPE, SearchFilters(), 5, text="refund")

    assert store.msearch_body([scoped]) == [{"index": "chunks"}, scoped.body()]
    with pytest.raises(TypeError):
        store.msearch_body([{"query": {"match_all": {}}}])  # type: ignore[list-item]
    await store.client.close()


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    bm25 = [hit("a"), hit("b"), hit("c")]
    knn = [hit("c"), hit("a")]

    fused = reciprocal_rank_fusion([RankedList(bm25, 1.0), RankedList(knn, 2.0)], rank_constant=1)

    assert [h.chunk_id for h in fused] == ["c", "a", "b"]
    assert [h.score for h in fused] == pytest.approx([1 / 4 + 2 / 2, 1 / 2 + 2 / 3, 1 / 3])


def test_a_zero_weight_list_only_breaks_no_ties() -> None:
    fused = reciprocal_rank_fusion(
        [RankedList([hit("a"), hit("b")], 1.0), RankedList([hit("b")], 0.0)], rank_constant=60
    )

    assert [h.chunk_id for h in fused] == ["a", "b"]


def test_the_page_cap_skips_a_pages_extra_chunks_and_fills_k_from_the_rest() -> None:
    hits = [hit("1", "p"), hit("2", "p"), hit("3", "p"), hit("4", "q"), hit("5", "r")]

    assert [h.chunk_id for h in cap_per_page(hits, 2, k=3)] == ["1", "2", "4"]
    assert [h.chunk_id for h in cap_per_page(hits, 1, k=5)] == ["1", "4", "5"]


@pytest.mark.parametrize(
    ("mode", "k", "query", "image", "message"),
    [
        (SearchMode.HYBRID, 0, "", b"", "query is required"),
        (SearchMode.BM25, 11, "q", b"", "k must be between 1 and 10"),
        (SearchMode.VECTOR, 1, "q", b"png", "an image query needs mode image"),
        (SearchMode.IMAGE, 1, "", b"", "image mode needs a query text or an image"),
        (SearchMode.IMAGE, 1, "q", b"png", "not both"),
    ],
)
def test_invalid_searches_say_why(
    mode: SearchMode, k: int, query: str, image: bytes, message: str
) -> None:
    tuning = SearchTuning(max_k=10)
    with pytest.raises(InvalidSearch, match=message):
        validated_search(SCOPE, mode, k, query, image, SearchFilters(), tuning)


def test_k_zero_means_the_default() -> None:
    search = validated_search(
        SCOPE, SearchMode.HYBRID, 0, " refund ", b"", SearchFilters(), SearchTuning(default_k=7)
    )

    assert (search.k, search.query) == (7, "refund")


@pytest.mark.parametrize(
    ("image_vectors", "clip_path"),
    [(False, None), (True, None), (False, "/models/clip")],
)
async def test_image_mode_needs_both_image_vectors_and_a_clip_model(
    image_vectors: bool, clip_path: str | None
) -> None:
    settings = RetrieverSettings(image_vectors=image_vectors, clip_model_path=clip_path)
    client = AsyncOpenSearch(hosts=["http://127.0.0.1:1"])
    searcher = create_searcher(settings, client, QueryModels())
    search = validated_search(
        SCOPE, SearchMode.IMAGE, 1, "a map", b"", SearchFilters(), searcher.tuning
    )

    with pytest.raises(ImageSearchUnavailable, match="image search is off"):
        await searcher.search(search)
    await client.close()
