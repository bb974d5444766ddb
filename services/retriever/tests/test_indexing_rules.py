"""The pure indexing rules: which chunks of a batch are current, and the documents they become."""

from __future__ import annotations

from uuid import uuid4

import pytest
from ragchat_common.events import ImageRef, PageRemoved
from ragchat_retriever.domain.chunks import (
    PAGES_PER_QUERY,
    chunk_document,
    current_chunks,
    stale_chunks_queries,
)
from ragchat_retriever.store.chunks import bulk_outcome
from ragchat_retriever.store.index import ChunkIndexSpec, chunk_index_body

from .chunk_factory import page_chunks

pytestmark = pytest.mark.unit


def test_a_newer_crawl_in_the_same_batch_supersedes_the_older_one() -> None:
    kb = uuid4()
    old = page_chunks(kb, "https://example.com/a", ["one", "two", "three", "four"], seed=1)
    new = page_chunks(kb, "https://example.com/a", ["one", "TWO"], seed=2)
    other = page_chunks(kb, "https://example.com/b", ["bee"], seed=3)

    pages = current_chunks([*old, other[0], *new])

    by_page = {p.page_id: p for p in pages}
    current = by_page[new[0].page_id]
    assert current.chunk_count == 2
    assert [c.chunk_id for c in current.by_ordinal.values()] == [c.chunk_id for c in new]
    assert [c.chunk_id for c in by_page[other[0].page_id].by_ordinal.values()] == [
        other[0].chunk_id
    ]


def test_chunks_of_a_page_still_arriving_keep_the_slots_they_fill() -> None:
    kb = uuid4()
    new = page_chunks(kb, "https://example.com/a", ["x", "y", "z"], seed=1)

    (page,) = current_chunks(new[:2])  # ordinal 2 comes in a later batch

    assert page.chunk_count == 3
    assert sorted(page.by_ordinal) == [0, 1]


def test_a_removal_empties_its_page_and_later_chunks_start_it_afresh() -> None:
    kb = uuid4()
    old = page_chunks(kb, "https://example.com/a", ["one", "two"], seed=1)
    new = page_chunks(kb, "https://example.com/a", ["fresh"], seed=2)
    removed = PageRemoved(
        page_id=old[0].page_id,
        crawl_id=uuid4(),
        kb_id=kb,
        tenant_id=old[0].tenant_id,
        url=old[0].url,
        reason="deleted",
    )

    (emptied,) = current_chunks([*old, removed])
    (afresh,) = current_chunks([*old, removed, *new])

    assert (emptied.chunk_count, emptied.by_ordinal) == (0, {})
    (query,) = stale_chunks_queries([emptied], indexed=set())
    assert query["bool"]["should"][0]["bool"]["should"] == [{"range": {"ordinal": {"gte": 0}}}]
    assert [c.chunk_id for c in afresh.by_ordinal.values()] == [new[0].chunk_id]


def test_only_indexed_chunks_replace_old_ones() -> None:
    kb = uuid4()
    a = page_chunks(kb, "https://example.com/a", ["x", "y"], seed=1)
    b = page_chunks(kb, "https://example.com/b", ["z"], seed=2)
    pages = current_chunks([*a, *b])

    (query,) = stale_chunks_queries(pages, indexed={a[1].chunk_id})

    (page_clause,) = query["bool"]["should"]
    assert page_clause["bool"]["filter"] == [{"term": {"page_id": a[0].page_id}}]
    slots = page_clause["bool"]["should"][1]["bool"]
    assert slots["filter"] == [{"terms": {"ordinal": [1]}}]
    assert slots["must_not"] == [{"ids": {"values": [a[1].chunk_id]}}]
    assert stale_chunks_queries(pages, indexed=set()) == []


def test_many_pages_are_split_over_queries_below_the_clause_limit() -> None:
    kb = uuid4()
    chunks = [
        page_chunks(kb, f"https://example.com/{i}", ["t"], seed=i)[0]
        for i in range(PAGES_PER_QUERY + 1)
    ]
    queries = stale_chunks_queries(current_chunks(chunks), {c.chunk_id for c in chunks})
    assert [len(q["bool"]["should"]) for q in queries] == [PAGES_PER_QUERY, 1]


def test_image_vectors_are_left_out_unless_the_index_has_a_field_for_them() -> None:
    image = ImageRef(src="https://example.com/i.png", alt="a router", caption="The back panel")
    (chunk,) = page_chunks(uuid4(), "https://example.com/a", ["x"], image=image)
    chunk = chunk.model_copy(update={"image_vector": [0.1] * 512})

    without = chunk_document(chunk, image_vectors=False)
    with_vectors = chunk_document(chunk, image_vectors=True)

    assert "image_vector" not in without
    assert with_vectors["image_vector"] == [0.1] * 512
    assert without["image"] == {
        "src": "https://example.com/i.png",
        "alt": "a router",
        "title": "",
        "caption": "The back panel",
    }
    assert without["kb_id"] == str(chunk.kb_id)


def test_the_image_vector_field_exists_only_when_image_vectors_are_on() -> None:
    off = chunk_index_body(ChunkIndexSpec("chunks", 1))["mappings"]["properties"]
    on = chunk_index_body(ChunkIndexSpec("chunks", 1, image_vectors=True))["mappings"]["properties"]
    assert "image_vector" not in off
    assert on["image_vector"]["dimension"] == 512
    assert off["vector"]["method"] == {
        "name": "hnsw",
        "engine": "lucene",
        "space_type": "cosinesimil",
    }


def test_bulk_items_are_sorted_into_indexed_retry_later_and_bad_data() -> None:
    def item(chunk_id: str, status: int, error: str | None = None) -> dict[str, object]:
        result: dict[str, object] = {"_index": "chunks-v1", "_id": chunk_id, "status": status}
        if error:
            result["error"] = {"type": error, "reason": f"{error} for {chunk_id}"}
        return {"index": result}

    outcome = bulk_outcome(
        {
            "errors": True,
            "items": [
                item("new", 201),
                item("same", 200),
                item("busy", 429, "es_rejected_execution_exception"),
                item("shard", 503, "unavailable_shards_exception"),
                item("blocked", 403, "cluster_block_exception"),
                item("bad", 400, "mapper_parsing_exception"),
            ],
        }
    )

    assert outcome.indexed == ["new", "same"]
    assert [f.chunk_id for f in outcome.transient] == ["busy", "shard", "blocked"]
    assert [(f.chunk_id, f.status) for f in outcome.rejected] == [("bad", 400)]
    assert outcome.rejected[0].reason.startswith("mapper_parsing_exception: ")
