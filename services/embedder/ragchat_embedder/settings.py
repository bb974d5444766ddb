"""Embedder settings (environment prefix ``EMBEDDER_``)."""

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from ragchat_common.consumer import RetryPolicy
from ragchat_common.settings import KafkaSettings, ServiceSettings
from ragchat_common.topics import CHUNK_EMBEDDED, PAGE_PARSED, TopicSpec


class EmbedderSettings(ServiceSettings):
    """Where the embedder listens, how it chunks and batches, and which models it loads."""

    model_config = SettingsConfigDict(env_prefix="EMBEDDER_", extra="ignore")

    service_name: str = "embedder"
    http_port: int = 8083
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    group_id: str = "embedder"
    # Topics (defaults are the platform's; tests and benchmarks run pipelines on their own).
    input_topic: str = PAGE_PARSED.name
    output_topic: str = CHUNK_EMBEDDED.name

    # Chunking, in tokens of the text model's own tokenizer. 200 leaves room for the title and
    # heading line inside the model's 256-token window; 40 tokens of overlap (whole sentences)
    # keep a sentence's context on both sides of a cut. The answers issue's eval tunes both.
    chunk_tokens: int = Field(default=200, ge=16, le=254)
    chunk_overlap_tokens: int = Field(default=40, ge=0)

    # Batching across messages: up to this many pages per batch, collected for up to this long.
    batch_max_pages: int = Field(default=32, ge=1)
    batch_max_wait_ms: int = Field(default=200, ge=0)
    encode_batch_size: int = Field(default=32, ge=1)
    # A batch's chunks are encoded and published a group of whole pages at a time, each group
    # at least this many chunks: the retriever indexes a group while the next one is encoded,
    # instead of receiving a whole batch (hundreds of chunks) at its end.
    publish_group_chunks: int = Field(default=256, ge=1)
    max_attempts: int = Field(default=3, ge=1)

    # "auto" picks CUDA when present, else CPU.
    device: Literal["auto", "cpu", "cuda"] = "auto"

    # Images: fetched through the SSRF guard, OCR'd, and given CLIP vectors when a model is set.
    images_enabled: bool = True
    max_images_per_page: int = Field(default=20, ge=0)
    image_max_bytes: int = Field(default=5_000_000, ge=1)
    image_max_pixels: int = Field(default=25_000_000, ge=1)
    image_types: frozenset[str] = frozenset(
        {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}
    )
    image_fetch_timeout_s: float = Field(default=10.0, gt=0)
    image_fetch_concurrency: int = Field(default=4, ge=1)
    ssrf_guard: bool = True
    # Host names, IPs or CIDRs admitted although private: EMBEDDER_SSRF_ALLOW_LIST=127.0.0.1,
    # 10.0.0.0/8 or a JSON list (the scraper's setting has the same shape).
    ssrf_allow_list: Annotated[list[str], NoDecode] = Field(default_factory=list)
    ocr_enabled: bool = True
    ocr_padding_px: int = Field(default=32, ge=0)
    clip_model_path: Path | None = None

    # Pages too large for one message are served by the scraper (``body_ref``); only references
    # under this base URL (the scraper's internal address, SCRAPER_PUBLIC_URL there) are followed.
    scraper_url: str = "http://127.0.0.1:8082"
    page_body_timeout_s: float = Field(default=30.0, gt=0)

    @field_validator("ssrf_allow_list", mode="before")
    @classmethod
    def _split_allow_list(cls, value: object) -> object:
        """A JSON list, or entries separated by commas."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "EmbedderSettings":
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self

    def topics(self) -> tuple[TopicSpec, TopicSpec]:
        """The topic pages come from and the topic chunks go to."""
        return (
            TopicSpec(self.input_topic, PAGE_PARSED.partitions),
            TopicSpec(self.output_topic, CHUNK_EMBEDDED.partitions),
        )

    def retry_policy(self) -> RetryPolicy:
        """How often a failing page is retried before it goes to ``page.parsed.dlq``."""
        return RetryPolicy(max_attempts=self.max_attempts)
