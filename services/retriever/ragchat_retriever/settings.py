"""Retriever settings (environment prefix ``RETRIEVER_``)."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.consumer import RetryPolicy
from ragchat_common.settings import GrpcServiceSettings, KafkaSettings, OpenSearchSettings
from ragchat_common.topics import CHUNK_EMBEDDED, TopicSpec

from ragchat_retriever.store.index import ChunkIndexSpec


class RetrieverSettings(GrpcServiceSettings):
    """Where the retriever listens, its index, its broker and how it consumes chunks."""

    model_config = SettingsConfigDict(env_prefix="RETRIEVER_", extra="ignore")

    service_name: str = "retriever"
    http_port: int = 8084
    grpc_port: int = 50052
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    opensearch: OpenSearchSettings = Field(default_factory=OpenSearchSettings)
    opensearch_timeout_s: float = Field(default=30.0, gt=0)

    index_alias: str = "ragchat-chunks"
    index_version: int = Field(default=1, ge=1)
    index_shards: int = Field(default=1, ge=1)
    index_replicas: int = Field(default=0, ge=0)
    image_vectors: bool = False
    """Index 512-d CLIP image vectors; on only where the embedder has a CLIP model."""

    indexer_topic: str = CHUNK_EMBEDDED.name
    """The topic of embedded chunks (the platform's by default; tests use their own)."""
    indexer_group_id: str = "retriever-indexer"
    indexer_batch_max_records: int = Field(default=1024, ge=1)
    """Index at most this many chunks in one bulk request. Each request ends with a refresh and
    a deletion by query (see :meth:`ChunkStore.index`), so the indexer keeps up by indexing many
    chunks per request, not by sending many requests."""
    indexer_batch_min_bytes: int = Field(default=1_048_576, ge=1)
    """A batch is indexed once this many bytes of chunks (about 130 at 384 dimensions) are
    ready ..."""
    indexer_batch_max_wait_ms: int = Field(default=500, ge=1)
    """... or once this much time has passed, whichever comes first. Without the size floor a
    batch was whatever had arrived, often one chunk, each costing a request, a refresh and a
    deletion while the rest of a page's chunks queued behind it."""
    indexer_partition_max_bytes: int = Field(default=16_777_216, ge=1)
    """Bytes read from one partition per fetch: room for a whole batch of chunks (about
    8 KB each with their vector)."""
    indexer_max_attempts: int = Field(default=3, ge=1)
    indexer_first_backoff_s: float = Field(default=0.5, gt=0)
    indexer_pause_s: float = Field(default=10.0, gt=0)
    """Longest wait between retries; also the pause while OpenSearch is unavailable."""

    query_model_path: Path | None = None
    """The all-MiniLM-L6-v2 folder for query vectors (default: the PyPI package's); it must be
    the embedder's model, or query and chunk vectors live in different spaces."""
    clip_model_path: Path | None = None
    """Local CLIP folder for image mode (the embedder's ``EMBEDDER_CLIP_MODEL_PATH``); image
    mode needs it and ``image_vectors`` on."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    encoder_threads: int = Field(default=1, ge=1)
    """Threads per query encoding (ONNX Runtime's for text, PyTorch's for CLIP). A query is one
    short sequence, so more threads gain little, and on a busy CPU they wait for each other: on 2
    shared cores one PyTorch thread encoded a query in 37 ms p50 where two took 198 ms."""
    model_cache_dir: Path | None = None
    """Where the text model's ONNX export is written on first start and read afterwards
    (default ``~/.cache/ragchat/models``); it must be writable by the service unless the export
    is already there. The container image sets ``/app/models``, exported while it is built."""

    search_default_k: int = Field(default=10, ge=1)
    """Hits returned when a request leaves ``k`` at 0."""
    search_max_k: int = Field(default=100, ge=1)
    """Largest ``k`` a request may ask for."""
    search_candidates: int = Field(default=50, ge=1)
    """Candidates each sub-query (BM25, k-NN) fetches before fusion, capping and reranking; at
    least ``3 * k`` are fetched so the per-page cap can still fill ``k`` hits."""
    search_knn_beam: int = Field(default=100, ge=1)
    """Neighbours HNSW keeps while it searches (its beam width, ``ef``); the k-NN query returns
    the best ``search_candidates`` of them. Wider finds the true nearest chunks more often and
    costs k-NN time (see the README's retrieval figures)."""
    search_max_chunks_per_page: int = Field(default=2, ge=1)
    """At most this many chunks of one page in a result, so one long page cannot crowd out the
    others."""
    search_rrf_rank_constant: int = Field(default=60, ge=1)
    """Reciprocal rank fusion: a hit at rank r of a list scores weight / (constant + r)."""
    search_rrf_bm25_weight: float = Field(default=1.0, ge=0)
    # Tuned on `make eval` (python3-doc): with vector hits weighing 1.5x BM25 hits, hybrid Recall@5
    # is 1.000 where bm25 gives 0.900 and vector 0.988 (weights 1.0/1.0: 0.994).
    search_rrf_vector_weight: float = Field(default=1.5, ge=0)
    search_boost_title: float = Field(default=2.0, ge=0)
    search_boost_heading_path: float = Field(default=1.5, ge=0)
    search_boost_text: float = Field(default=1.0, ge=0)
    search_boost_image_text: float = Field(default=1.0, ge=0)
    """Boost of an image chunk's alt text and caption."""
    search_snippet_chars: int = Field(default=200, ge=20)

    def chunk_index(self) -> ChunkIndexSpec:
        """The chunks index these settings name."""
        return ChunkIndexSpec(
            alias=self.index_alias,
            version=self.index_version,
            shards=self.index_shards,
            replicas=self.index_replicas,
            image_vectors=self.image_vectors,
        )

    def indexer_source(self) -> TopicSpec:
        """The topic the indexer consumes."""
        return TopicSpec(self.indexer_topic, CHUNK_EMBEDDED.partitions)

    def indexer_retry(self) -> RetryPolicy:
        """How the indexer retries a batch before isolating and dead-lettering bad chunks."""
        return RetryPolicy(
            max_attempts=self.indexer_max_attempts,
            first_backoff_s=self.indexer_first_backoff_s,
            max_backoff_s=self.indexer_pause_s,
        )
