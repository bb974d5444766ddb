"""Retriever settings (environment prefix ``RETRIEVER_``)."""

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
    indexer_batch_max_records: int = Field(default=256, ge=1)
    """Flush when this many chunks are collected ..."""
    indexer_batch_max_wait_ms: int = Field(default=500, ge=1)
    """... or when this much time passed since the batch began, whichever comes first."""
    indexer_max_attempts: int = Field(default=3, ge=1)
    indexer_first_backoff_s: float = Field(default=0.5, gt=0)
    indexer_pause_s: float = Field(default=10.0, gt=0)
    """Longest wait between retries; also the pause while OpenSearch is unavailable."""

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
