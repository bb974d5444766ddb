"""From a page's embedded chunks to the events that tell the indexer what the page holds now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ragchat_common.events import ChunkEmbedded, PageParsed, PageRemoved, chunk_id_for

from ragchat_embedder.domain.chunking import TextChunk
from ragchat_embedder.domain.images import ImageChunk

ChunkTopicMessage = ChunkEmbedded | PageRemoved


@dataclass(frozen=True)
class EmbeddedChunk:
    """A chunk with its text vector and, for an image with CLIP on, its image vector."""

    chunk: TextChunk | ImageChunk
    vector: list[float]
    image_vector: list[float] | None = None


def latest_versions(pages: Sequence[PageParsed]) -> list[PageParsed]:
    """The last version of each page in a batch, in the order those versions arrived.

    One page's messages share a key, so a later one in a batch supersedes the earlier: embedding
    only the last saves work and publishes the same final state.
    """
    latest: dict[str, PageParsed] = {}
    for page in pages:
        latest.pop(page.page_id, None)
        latest[page.page_id] = page
    return list(latest.values())


def removal(page: PageParsed, reason: Literal["deleted", "empty"]) -> PageRemoved:
    """The event that empties a page in the index."""
    return PageRemoved(
        page_id=page.page_id,
        crawl_id=page.crawl_id,
        kb_id=page.kb_id,
        tenant_id=page.tenant_id,
        url=page.url,
        reason=reason,
    )


def page_events(page: PageParsed, embedded: Sequence[EmbeddedChunk]) -> list[ChunkTopicMessage]:
    """One :class:`ChunkEmbedded` per chunk, all carrying the page's chunk count; a deleted page
    or a page with nothing to index gives one :class:`PageRemoved` instead."""
    if page.deleted:
        return [removal(page, "deleted")]
    if not embedded:
        return [removal(page, "empty")]
    events: list[ChunkTopicMessage] = []
    for ordinal, item in enumerate(embedded):
        chunk = item.chunk
        heading_path, image = (
            ([], chunk.image) if isinstance(chunk, ImageChunk) else (list(chunk.heading_path), None)
        )
        events.append(
            ChunkEmbedded(
                chunk_id=chunk_id_for(page.page_id, ordinal, chunk.content_hash),
                page_id=page.page_id,
                crawl_id=page.crawl_id,
                kb_id=page.kb_id,
                tenant_id=page.tenant_id,
                url=page.canonical_url or page.url,
                title=page.title,
                heading_path=heading_path,
                ordinal=ordinal,
                chunk_count=len(embedded),
                text=chunk.text,
                content_hash=chunk.content_hash,
                content_type=page.content_type,
                language=page.language,
                vector=item.vector,
                image=image,
                image_vector=item.image_vector,
                crawled_at=page.occurred_at,
            )
        )
    return events
