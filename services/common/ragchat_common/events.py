"""Versioned event models carried on Kafka topics (see :mod:`ragchat_common.topics`).

Every event names its schema version. A consumer accepts the versions it knows and sends anything
else to the topic's dead-letter twin, so a producer can roll out a new version safely. Message keys:
``url.submitted`` by knowledge base, ``page.parsed`` and ``chunk.embedded`` by page id, so the
messages of one page stay in order.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def page_id_for(kb_id: UUID, canonical_url: str) -> str:
    """Stable page id: the same page of the same knowledge base always gets the same id."""
    return hashlib.sha256(f"{kb_id}\n{canonical_url}".encode()).hexdigest()[:32]


def chunk_id_for(page_id: str, ordinal: int, content_hash: str) -> str:
    """Stable chunk id: re-embedding an unchanged chunk yields the same id (idempotent indexing)."""
    return hashlib.sha256(f"{page_id}\n{ordinal}\n{content_hash}".encode()).hexdigest()[:32]


class Event(BaseModel):
    """Base of every event: frozen, strict about unknown fields, and timestamped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: datetime = Field(default_factory=utc_now)


class CrawlMode(StrEnum):
    """How a crawl discovers pages."""

    SINGLE = "single"
    RECURSIVE = "recursive"
    SITEMAP = "sitemap"
    LIST = "list"


class CrawlScope(BaseModel):
    """Limits of a crawl."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    include_patterns: list[str] = Field(default_factory=list)
    exclude_patterns: list[str] = Field(default_factory=list)
    max_depth: int = Field(default=3, ge=0, le=50)
    max_pages: int = Field(default=500, ge=1, le=1_000_000)
    render_js: bool = False


class UrlSubmitted(Event):
    """A crawl was requested for a knowledge base (topic ``url.submitted``, key: kb id)."""

    schema_version: Literal[1] = 1
    crawl_id: UUID
    kb_id: UUID
    tenant_id: UUID
    urls: list[str] = Field(min_length=1)
    mode: CrawlMode = CrawlMode.RECURSIVE
    scope: CrawlScope = Field(default_factory=CrawlScope)
    submitted_by: str


class TextBlock(BaseModel):
    """A block of main text and the headings above it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    heading_path: list[str] = Field(default_factory=list)
    text: str


class ImageRef(BaseModel):
    """An image found on a page, with the text around it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    src: str
    alt: str = ""
    title: str = ""
    caption: str = ""
    nearby_text: str = ""


class PageParsed(Event):
    """A page was fetched and parsed (topic ``page.parsed``, key: page id).

    ``deleted`` marks a page that disappeared on a re-crawl: its chunks must be removed. A page too
    large for one message carries ``body_ref`` (where the scraper stored it) instead of ``blocks``.
    """

    schema_version: Literal[1] = 1
    page_id: str
    crawl_id: UUID
    kb_id: UUID
    tenant_id: UUID
    url: str
    canonical_url: str
    content_type: str = "text/html"
    title: str = ""
    description: str = ""
    language: str | None = None
    content_hash: str = ""
    blocks: list[TextBlock] = Field(default_factory=list)
    images: list[ImageRef] = Field(default_factory=list)
    body_ref: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    deleted: bool = False


class ChunkEmbedded(Event):
    """One embedded chunk of a page (topic ``chunk.embedded``, key: page id).

    ``chunk_count`` is the number of chunks the page has now, so the indexer can drop the page's
    chunks from an earlier crawl that are not part of this one.
    """

    schema_version: Literal[1] = 1
    chunk_id: str
    page_id: str
    crawl_id: UUID
    kb_id: UUID
    tenant_id: UUID
    url: str
    title: str = ""
    heading_path: list[str] = Field(default_factory=list)
    ordinal: int = Field(ge=0)
    chunk_count: int = Field(ge=1)
    text: str
    content_hash: str
    content_type: str = "text/html"
    language: str | None = None
    vector: list[float]
    image: ImageRef | None = None
    image_vector: list[float] | None = None
    crawled_at: datetime = Field(default_factory=utc_now)


class PageRemoved(Event):
    """A page has no chunks any more (topic ``chunk.embedded``, key: page id).

    Sent instead of chunks when a page disappeared on a re-crawl (``reason="deleted"``) or has no
    text or image left to index (``reason="empty"``). It reads like a chunk with ``chunk_count``
    0: the indexer drops every chunk of the page. Same topic and key as the page's chunks, so it
    stays in order with them.
    """

    schema_version: Literal[1] = 1
    page_id: str
    crawl_id: UUID
    kb_id: UUID
    tenant_id: UUID
    url: str
    reason: Literal["deleted", "empty"]
    chunk_count: Literal[0] = 0


class ChunkTopicEvent(RootModel[ChunkEmbedded | PageRemoved]):
    """Anything published on ``chunk.embedded``: parse with this to accept either kind."""


class CrawlState(StrEnum):
    """Lifecycle of a crawl job."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class CrawlFailure(BaseModel):
    """A URL a crawl failed to fetch or read, and why (what a person sees as the failure)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    reason: str


RECENT_FAILURES_MAX = 20


class CrawlProgress(Event):
    """Live counters of a crawl, emitted at least once a second while it runs.

    ``recent_failures`` holds the latest failed URLs of the crawl with their reasons (at most
    :data:`RECENT_FAILURES_MAX`, newest last); the ``failed`` counter counts all of them.
    """

    schema_version: Literal[1] = 1
    crawl_id: UUID
    kb_id: UUID
    tenant_id: UUID
    state: CrawlState
    discovered: int = 0
    fetched: int = 0
    failed: int = 0
    skipped: int = 0
    current_url: str | None = None
    pages_per_second: float = 0.0
    recent_failures: list[CrawlFailure] = Field(default_factory=list)


class ChatTurn(Event):
    """One answered (or declined) question, for analytics (topic ``chat.turn``).

    ``stopped``: the client stopped the answer mid-stream; ``answer_chars`` and ``total_ms`` are
    then those of the part it was sent. The field was added within version 1 and is left out of
    the message while false, so a consumer built before it (strict about unknown fields) still
    reads every complete turn; only stopped turns would go to its dead-letter topic.
    """

    schema_version: Literal[1] = 1
    turn_id: UUID
    conversation_id: UUID
    tenant_id: UUID
    kb_ids: list[UUID]
    principal: str
    question: str
    answer_chars: int = Field(ge=0)
    cited_urls: list[str] = Field(default_factory=list)
    retrieval_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0
    provider: str
    declined: bool = False
    # Left out of the message while false (see the class docstring).
    stopped: bool = Field(default=False, exclude_if=lambda stopped: not stopped)
