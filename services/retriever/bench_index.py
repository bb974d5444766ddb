"""Indexing throughput of the retriever into a throwaway index (a benchmark, not a test).

For batch sizes 64, 256 and 512 it indexes the same number of chunks with random 384-d unit
vectors and prints chunks/s for

- ``bulk``: one plain bulk request per batch (no refresh): what OpenSearch itself takes;
- ``indexer``: :meth:`ChunkIndexer.index`, the path the service runs (bulk made searchable,
  then the deletion of the chunks the batch replaces).

Usage: ``.venv/bin/python services/retriever/bench_index.py [--chunks N]`` with OpenSearch at
``OPENSEARCH_URL`` (six runs of N chunks; keep N small on a shared 2-core machine). Each batch
holds the chunks of pages of 8 chunks, like a crawl; the index is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry
from ragchat_common.events import ChunkEmbedded, ChunkTopicEvent, chunk_id_for, page_id_for
from ragchat_common.logs import configure_logging
from ragchat_common.settings import OpenSearchSettings
from ragchat_retriever.domain.chunks import chunk_document
from ragchat_retriever.domain.indexer import ChunkIndexer, IndexerMetrics
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import TEXT_VECTOR_DIMENSION, ChunkIndexSpec, ensure_chunk_index

BATCH_SIZES = (64, 256, 512)
CHUNKS_PER_PAGE = 8
WORDS = ["router", "password", "reset", "invoice", "billing", "account", "network", "firmware"]


def make_chunks(count: int, rng: random.Random) -> list[ChunkEmbedded]:
    """``count`` chunks of made-up pages with random unit vectors and ~120 words of text."""
    kb, tenant, crawl = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    chunks = []
    for n in range(count):
        url = f"https://bench.example/{n // CHUNKS_PER_PAGE}"
        page_id = page_id_for(kb, url)
        ordinal = n % CHUNKS_PER_PAGE
        text = " ".join(rng.choice(WORDS) for _ in range(120))
        vector = [rng.gauss(0, 1) for _ in range(TEXT_VECTOR_DIMENSION)]
        norm = sum(x * x for x in vector) ** 0.5
        content_hash = f"{n:016x}"
        chunks.append(
            ChunkEmbedded(
                chunk_id=chunk_id_for(page_id, ordinal, content_hash),
                page_id=page_id,
                crawl_id=crawl,
                kb_id=kb,
                tenant_id=tenant,
                url=url,
                title=f"Page {n // CHUNKS_PER_PAGE}",
                ordinal=ordinal,
                chunk_count=CHUNKS_PER_PAGE,
                text=text,
                content_hash=content_hash,
                vector=[x / norm for x in vector],
            )
        )
    return chunks


async def timed(
    chunks: list[ChunkEmbedded], size: int, index: Callable[[list[ChunkEmbedded]], Awaitable[None]]
) -> float:
    """Chunks per second for indexing ``chunks`` in batches of ``size``."""
    started = time.perf_counter()
    for i in range(0, len(chunks), size):
        await index(chunks[i : i + size])
    return len(chunks) / (time.perf_counter() - started)


async def bench(total: int) -> None:
    """Print the table: one row per batch size, one column per path."""
    client = create_opensearch(OpenSearchSettings(), timeout_s=60)
    spec = ChunkIndexSpec(alias=f"bench-chunks-{uuid.uuid4().hex[:8]}", version=1)
    await ensure_chunk_index(client, spec)
    store = ChunkStore(client, spec.alias)
    indexer = ChunkIndexer(store, False, IndexerMetrics(CollectorRegistry()))
    rng = random.Random(1)

    async def bulk(batch: list[ChunkEmbedded]) -> None:
        body: list[dict[str, object]] = []
        for chunk in batch:
            body += [
                {"index": {"_index": spec.alias, "_id": chunk.chunk_id}},
                chunk_document(chunk, image_vectors=False),
            ]
        response = await client.bulk(body=body)
        assert not response["errors"], "bulk reported item errors"

    async def service_path(batch: list[ChunkEmbedded]) -> None:
        await indexer.index([ChunkTopicEvent(chunk) for chunk in batch])

    try:
        await bulk(make_chunks(64, rng))  # warm-up: connections, first segment
        print(f"{total} chunks per run, {TEXT_VECTOR_DIMENSION}-d vectors, {spec.index}")
        print(f"{'batch':>6} | {'bulk chunks/s':>14} | {'indexer chunks/s':>17}")
        print(f"{'-' * 6}-+-{'-' * 14}-+-{'-' * 17}")
        for size in BATCH_SIZES:
            raw = await timed(make_chunks(total, rng), size, bulk)
            full = await timed(make_chunks(total, rng), size, service_path)
            print(f"{size:>6} | {raw:>14.0f} | {full:>17.0f}")
    finally:
        await client.indices.delete(index=spec.index)
        await client.close()


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1024, help="chunks per run (default 1024)")
    configure_logging("bench-index", "WARNING")
    asyncio.run(bench(parser.parse_args().chunks))


if __name__ == "__main__":
    main()
