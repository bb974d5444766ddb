"""Builders of ``chunk.embedded`` events for the retriever's tests."""

from __future__ import annotations

import hashlib
import random
from uuid import UUID, uuid4

from ragchat_common.events import ChunkEmbedded, ImageRef, chunk_id_for, page_id_for

DIM = 384


def random_unit_vector(rng: random.Random, dim: int = DIM) -> list[float]:
    """A random vector of length one, like the embedder's normalised output."""
    vector = [rng.gauss(0, 1) for _ in range(dim)]
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


def page_chunks(
    kb_id: UUID,
    url: str,
    texts: list[str],
    crawl_id: UUID | None = None,
    seed: int = 0,
    image: ImageRef | None = None,
) -> list[ChunkEmbedded]:
    """The chunks of one page as the embedder would publish them for one crawl."""
    rng = random.Random(seed)
    page_id = page_id_for(kb_id, url)
    crawl = crawl_id or uuid4()
    chunks = []
    for ordinal, text in enumerate(texts):
        content_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
        chunks.append(
            ChunkEmbedded(
                chunk_id=chunk_id_for(page_id, ordinal, content_hash),
                page_id=page_id,
                crawl_id=crawl,
                kb_id=kb_id,
                tenant_id=UUID(int=1),
                url=url,
                title=f"Page {url}",
                heading_path=["Guide", f"Section {ordinal}"],
                ordinal=ordinal,
                chunk_count=len(texts),
                text=text,
                content_hash=content_hash,
                language="en",
                vector=random_unit_vector(rng),
                image=image,
            )
        )
    return chunks
