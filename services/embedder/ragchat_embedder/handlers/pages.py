"""The ``page.parsed`` subscriber: pages in, embedded chunks out on ``chunk.embedded``.

Pages are consumed in batches (size and wait from settings). A batch is chunked, its images are
fetched, read (OCR) and given CLIP vectors, every chunk of the batch is embedded in one encode
call, and one :class:`ChunkEmbedded` per chunk (or one :class:`PageRemoved` for a page without
chunks) is published with the page id as key. The handler returns only once Kafka acknowledged
every one of them, so the consumer commits the batch's offsets only after its output is durable.
A page too large for one message (``body_ref``) is completed from the scraper before chunking.
A failing page is retried and then dead-lettered to ``page.parsed.dlq`` by the common consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter, Histogram
from ragchat_common.consumer import subscribe_reliably_in_batches
from ragchat_common.events import PageParsed
from ragchat_common.logs import get_logger
from ragchat_common.topics import CHUNK_EMBEDDED, PAGE_PARSED, TopicSpec

from ragchat_embedder.domain.chunking import ChunkingRules, TextChunk, chunk_page
from ragchat_embedder.domain.images import ImageChunk, distinct_images, image_chunk
from ragchat_embedder.domain.pages import (
    ChunkTopicMessage,
    EmbeddedChunk,
    latest_versions,
    page_events,
)
from ragchat_embedder.encoders.loaded import EmbedderModels, Loaded
from ragchat_embedder.handlers.bodies import PageBodyReader
from ragchat_embedder.image_fetch import FetchedImage, ImageFetcher
from ragchat_embedder.settings import EmbedderSettings

log = get_logger(__name__)


class PageBodyNotInline(ValueError):
    """A page still passed by reference reached chunking (its body was not fetched first)."""


@dataclass(frozen=True)
class ImageRules:
    """How many images of a page are indexed and how many are fetched at once."""

    enabled: bool = True
    max_per_page: int = 20
    fetch_concurrency: int = 4


class EmbedderMetrics:
    """Prometheus counters of the embedder's work."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.chunks = Counter(
            "ragchat_embedder_chunks_total", "Chunks embedded.", ["kind"], registry=registry
        )
        self.pages = Counter(
            "ragchat_embedder_pages_total", "Pages handled.", ["outcome"], registry=registry
        )
        self.images_refused = Counter(
            "ragchat_embedder_images_refused_total",
            "Images indexed without their pixels (not fetched or not decoded).",
            ["reason"],
            registry=registry,
        )
        self.encode_seconds = Histogram(
            "ragchat_embedder_encode_seconds", "Time of one text encode call.", registry=registry
        )


class PageEmbedder:
    """Turns a batch of parsed pages into the messages for ``chunk.embedded``."""

    def __init__(
        self,
        models: EmbedderModels,
        rules: ChunkingRules,
        fetcher: ImageFetcher | None,
        image_rules: ImageRules,
        metrics: EmbedderMetrics,
    ) -> None:
        self.models = models
        self.rules = rules
        self.fetcher = fetcher
        self.image_rules = image_rules
        self.metrics = metrics

    async def messages_for(self, pages: Sequence[PageParsed]) -> list[ChunkTopicMessage]:
        """Every message the batch produces, grouped by page in arrival order."""
        models = self.models.loaded
        current = latest_versions(pages)
        live = [page for page in current if not page.deleted]
        for page in live:
            if page.body_ref is not None and not page.blocks:
                raise PageBodyNotInline(
                    f"page {page.page_id} carries body_ref={page.body_ref!r} instead of blocks"
                )
        text_chunks = await asyncio.to_thread(self._chunk_pages, models, live)
        image_chunks = await self._image_chunks(models, live)
        per_page = [text_chunks[p.page_id] + image_chunks[p.page_id] for p in live]
        passages = [item.chunk.passage for chunks in per_page for item in chunks]
        with self.metrics.encode_seconds.time():
            vectors = iter(await models.text.embed(passages))
        embedded = {
            page.page_id: [
                EmbeddedChunk(item.chunk, next(vectors), item.image_vector) for item in chunks
            ]
            for page, chunks in zip(live, per_page, strict=True)
        }
        messages: list[ChunkTopicMessage] = []
        for page in current:
            chunks = embedded.get(page.page_id, [])
            messages.extend(page_events(page, chunks))
            self._count(page, chunks)
        return messages

    def _count(self, page: PageParsed, chunks: Sequence[EmbeddedChunk]) -> None:
        outcome = "deleted" if page.deleted else "embedded" if chunks else "empty"
        self.metrics.pages.labels(outcome).inc()
        for item in chunks:
            self.metrics.chunks.labels(
                "image" if isinstance(item.chunk, ImageChunk) else "text"
            ).inc()

    def _chunk_pages(
        self, models: Loaded, pages: Sequence[PageParsed]
    ) -> dict[str, list[_Pending]]:
        return {
            page.page_id: [
                _Pending(chunk) for chunk in chunk_page(page, self.rules, models.text.tokenizer)
            ]
            for page in pages
        }

    async def _image_chunks(
        self, models: Loaded, pages: Sequence[PageParsed]
    ) -> dict[str, list[_Pending]]:
        """Each page's image chunks: fetched, OCR'd and CLIP-embedded where possible."""
        refs = {
            page.page_id: distinct_images(page.images, self.image_rules.max_per_page)
            if self.image_rules.enabled
            else []
            for page in pages
        }
        wanted = sorted({ref.src for page_refs in refs.values() for ref in page_refs})
        fetched = await self._fetch_all(wanted)
        ocr_text = {src: "" for src in wanted}
        if models.ocr is not None:
            for src, image in fetched.items():
                ocr_text[src] = await models.ocr.read_text(image.image)
        image_vectors: dict[str, list[float]] = {}
        if models.clip is not None and fetched:
            sources = list(fetched)
            vectors = await models.clip.embed([fetched[s].image for s in sources])
            image_vectors = dict(zip(sources, vectors, strict=True))
        result: dict[str, list[_Pending]] = {}
        for page in pages:
            result[page.page_id] = []
            for ref in refs[page.page_id]:
                chunk = image_chunk(ref, ocr_text[ref.src], page.title)
                if chunk is not None:
                    result[page.page_id].append(_Pending(chunk, image_vectors.get(ref.src)))
        return result

    async def _fetch_all(self, sources: Sequence[str]) -> dict[str, FetchedImage]:
        """Fetch ``sources`` a few at a time; refused ones are counted and left out."""
        if self.fetcher is None or not sources:
            return {}
        fetcher = self.fetcher
        gate = asyncio.Semaphore(self.image_rules.fetch_concurrency)

        async def one(src: str) -> FetchedImage | None:
            async with gate:
                outcome = await fetcher.fetch(src)
            if isinstance(outcome, FetchedImage):
                return outcome
            self.metrics.images_refused.labels(outcome.reason).inc()
            log.info("image not fetched", src=src, reason=outcome.reason, detail=outcome.detail)
            return None

        results = await asyncio.gather(*(one(src) for src in sources))
        return {r.src: r for r in results if r is not None}


@dataclass(frozen=True)
class _Pending:
    """A chunk waiting for its text vector."""

    chunk: TextChunk | ImageChunk
    image_vector: list[float] | None = None


async def publish_messages(
    broker: KafkaBroker, topic: str, messages: Sequence[ChunkTopicMessage]
) -> None:
    """Publish every message keyed by page id, and return once Kafka acknowledged all of them.

    Messages are handed to the producer in order without waiting for each acknowledgement (the
    producer batches them); the acknowledgements are awaited together at the end.
    """
    pending = [
        await broker.publish(message, topic, key=message.page_id.encode(), no_confirm=True)
        for message in messages
    ]
    await asyncio.gather(*pending)


def subscribe_page_embedder(
    broker: KafkaBroker,
    embedder: PageEmbedder,
    settings: EmbedderSettings,
    registry: CollectorRegistry,
    source: TopicSpec = PAGE_PARSED,
    target: TopicSpec = CHUNK_EMBEDDED,
) -> None:
    """Consume ``source`` in batches and publish each batch's chunks to ``target``; pages passed
    by reference get their body from the scraper first."""
    bodies = PageBodyReader(settings.scraper_url, settings.page_body_timeout_s)

    async def handle(pages: list[PageParsed]) -> None:
        messages = await embedder.messages_for(await bodies.inline(latest_versions(pages)))
        await publish_messages(broker, target.name, messages)

    subscribe_reliably_in_batches(
        broker,
        source,
        settings.group_id,
        PageParsed,
        handle,
        registry,
        policy=settings.retry_policy(),
        max_records=settings.batch_max_pages,
        max_wait_ms=settings.batch_max_wait_ms,
    )
