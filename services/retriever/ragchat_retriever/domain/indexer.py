"""ChunkIndexer: puts a batch of embedded chunks into the chunks index and removes what they
replace.

A batch is handled once every chunk of it is indexed. What happens otherwise decides what the
consumer does with the batch:

- OpenSearch away, slow, overloaded or not taking writes (no connection, timeouts, 429/5xx for
  the request or for single items, an index write block): :class:`DependencyUnavailable`;
  consumption pauses and the batch is retried until it goes through, and nothing of it is
  committed before.
- Some chunks rejected as bad data (a mapping error such as a vector of the wrong dimension):
  :class:`ChunksRejected` after the good chunks are indexed; the consumer retries, then isolates
  the bad chunk and dead-letters it, while its neighbours (indexed again, harmlessly: ids are
  chunk ids) are committed.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from ragchat_common.consumer import DependencyUnavailable
from ragchat_common.events import ChunkTopicEvent
from ragchat_common.logs import get_logger

from ragchat_retriever.domain.chunks import chunk_document, current_chunks, stale_chunks_queries
from ragchat_retriever.store.chunks import ChunkStore, ItemFailure

log = get_logger(__name__)


class ChunksRejected(Exception):
    """OpenSearch refused some chunks as invalid; retrying the same data will not help."""

    def __init__(self, failures: list[ItemFailure]) -> None:
        super().__init__(
            "; ".join(f"chunk {f.chunk_id}: HTTP {f.status} {f.reason}" for f in failures)
        )
        self.failures = failures


class IndexerMetrics:
    """What the indexer did, for ``/metrics`` and the ingestion dashboard."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.chunks = Counter(
            "ragchat_index_chunks_total",
            "Chunks written to the index, by outcome (indexed, rejected, retried).",
            ["outcome"],
            registry=registry,
        )
        self.stale_deleted = Counter(
            "ragchat_index_stale_chunks_deleted_total",
            "Chunks deleted because a re-crawl replaced them or their page was removed.",
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "ragchat_index_batch_duration_seconds",
            "Time to index one batch and delete what it replaces.",
            registry=registry,
        )


class ChunkIndexer:
    """Indexes batches of ``chunk.embedded`` events idempotently, replacing re-crawled pages and
    dropping removed ones."""

    def __init__(self, store: ChunkStore, image_vectors: bool, metrics: IndexerMetrics) -> None:
        self.store = store
        self.image_vectors = image_vectors
        self.metrics = metrics

    async def index(self, events: list[ChunkTopicEvent]) -> None:
        """Index ``events`` (in arrival order), then delete the old chunks they replace or the
        pages they remove."""
        started = time.perf_counter()
        pages = current_chunks([event.root for event in events])
        documents = {
            chunk.chunk_id: chunk_document(chunk, self.image_vectors)
            for page in pages
            for chunk in page.by_ordinal.values()
        }
        outcome = await self.store.index(documents)
        self.metrics.chunks.labels("indexed").inc(len(outcome.indexed))
        self.metrics.chunks.labels("rejected").inc(len(outcome.rejected))
        self.metrics.chunks.labels("retried").inc(len(outcome.transient))
        if outcome.transient:
            raise DependencyUnavailable(
                f"OpenSearch could not index {len(outcome.transient)} chunks now: "
                f"{outcome.transient[0].reason}"
            )
        deleted = 0
        for query in stale_chunks_queries(pages, set(outcome.indexed)):
            deleted += await self.store.delete_matching(query)
        self.metrics.stale_deleted.inc(deleted)
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        log.info(
            "chunks indexed",
            received=len(events),
            indexed=len(outcome.indexed),
            rejected=len(outcome.rejected),
            stale_deleted=deleted,
        )
        if outcome.rejected:
            raise ChunksRejected(outcome.rejected)
