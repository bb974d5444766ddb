"""Pure rules of indexing: which chunks of a batch count, their documents, and which old chunks
they replace.

How a re-crawled page's old chunks are found (correct when one page's chunks arrive over several
batches): a chunk id is a hash of page id, ordinal and content, and every chunk says how many
chunks its page has now (``chunk_count``). The messages of one page are keyed by page id, so they
arrive in order. For each page in a batch, the page's newest chunk gives its current
``chunk_count``, and each ordinal keeps only its newest chunk. Stale are then the page's chunks
that either

- have an ordinal at or beyond the current ``chunk_count`` (the page got shorter), or
- have an ordinal this batch brings a chunk for, under another id (that slot's content changed).

An ordinal whose new chunk comes in a later batch keeps its old chunk until then, so a page is
never emptied while its new chunks are on the way, and the page ends with exactly its new chunks
once all of them are indexed. Re-delivered chunks carry the same ids and change nothing.

A :class:`PageRemoved` (the page disappeared or has nothing left to index) comes in the same
order and reads as ``chunk_count`` 0: every chunk of the page is stale. Chunks of the page that
come after it in the batch (the page came back) start the page afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragchat_common.events import ChunkEmbedded, PageRemoved


@dataclass(frozen=True)
class PageChunks:
    """The current chunks of one page in a batch: ordinal -> chunk, and the page's chunk count."""

    page_id: str
    chunk_count: int
    by_ordinal: dict[int, ChunkEmbedded]


def current_chunks(events: list[ChunkEmbedded | PageRemoved]) -> list[PageChunks]:
    """Group a batch by page, keeping the newest chunk per ordinal and dropping superseded ones.

    ``events`` must be in arrival order (Kafka keeps one page's messages in order). A chunk whose
    ordinal lies beyond its page's newest ``chunk_count`` belongs to an earlier version of the page
    and is dropped; a removal drops everything of the page before it.
    """
    pages: dict[str, PageChunks] = {}
    for event in events:
        page = pages.get(event.page_id)
        if isinstance(event, PageRemoved):
            pages[event.page_id] = PageChunks(event.page_id, 0, {})
            continue
        by_ordinal = page.by_ordinal if page else {}
        by_ordinal[event.ordinal] = event
        pages[event.page_id] = PageChunks(event.page_id, event.chunk_count, by_ordinal)
    return [
        PageChunks(
            page.page_id,
            page.chunk_count,
            {o: c for o, c in sorted(page.by_ordinal.items()) if o < page.chunk_count},
        )
        for page in pages.values()
    ]


def chunk_document(chunk: ChunkEmbedded, image_vectors: bool) -> dict[str, Any]:
    """The index document of one chunk. The image vector is left out when image vectors are off
    (the index then has no field for it)."""
    document: dict[str, Any] = {
        "chunk_id": chunk.chunk_id,
        "page_id": chunk.page_id,
        "kb_id": str(chunk.kb_id),
        "tenant_id": str(chunk.tenant_id),
        "crawl_id": str(chunk.crawl_id),
        "url": chunk.url,
        "title": chunk.title,
        "heading_path": chunk.heading_path,
        "text": chunk.text,
        "ordinal": chunk.ordinal,
        "chunk_count": chunk.chunk_count,
        "content_hash": chunk.content_hash,
        "content_type": chunk.content_type,
        "language": chunk.language,
        "crawled_at": chunk.crawled_at.isoformat(),
        "vector": chunk.vector,
    }
    if chunk.image is not None:
        document["image"] = {
            "src": chunk.image.src,
            "alt": chunk.image.alt,
            "title": chunk.image.title,
            "caption": chunk.image.caption,
        }
    if image_vectors and chunk.image_vector is not None:
        document["image_vector"] = chunk.image_vector
    return document


def _page_stale_query(page: PageChunks, kept: dict[int, str]) -> dict[str, Any]:
    """Chunks of ``page`` past its end, or in a slot of ``kept`` (ordinal: id) under another id."""
    should: list[dict[str, Any]] = [{"range": {"ordinal": {"gte": page.chunk_count}}}]
    if kept:
        should.append(
            {
                "bool": {
                    "filter": [{"terms": {"ordinal": sorted(kept)}}],
                    "must_not": [{"ids": {"values": sorted(kept.values())}}],
                }
            }
        )
    return {
        "bool": {
            "filter": [{"term": {"page_id": page.page_id}}],
            "should": should,
            "minimum_should_match": 1,
        }
    }


PAGES_PER_QUERY = 100
"""Pages per deletion query: each page adds four clauses, and OpenSearch refuses a query of more
than 1024 (``indices.query.bool.max_clause_count``)."""


def stale_chunks_queries(pages: list[PageChunks], indexed: set[str]) -> list[dict[str, Any]]:
    """Queries for the old chunks that the indexed chunks of ``pages`` replace.

    Only chunks that were actually indexed (``indexed`` ids) replace anything: a page whose new
    chunks were all rejected, or a slot whose new chunk was rejected, keeps its old chunk until
    the new one is indexed. A removed page (``chunk_count`` 0) loses all its chunks.
    """
    clauses = []
    for page in pages:
        kept = {o: c.chunk_id for o, c in page.by_ordinal.items() if c.chunk_id in indexed}
        if kept or page.chunk_count == 0:
            clauses.append(_page_stale_query(page, kept))
    return [
        {"bool": {"should": clauses[i : i + PAGES_PER_QUERY], "minimum_should_match": 1}}
        for i in range(0, len(clauses), PAGES_PER_QUERY)
    ]
