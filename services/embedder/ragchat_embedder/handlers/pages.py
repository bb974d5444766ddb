"""The ``page.parsed`` subscriber: pages in, embedded chunks out on ``chunk.embedded``.

Pages are consumed in batches (size and wait from settings). A batch is chunked and its images
are fetched, read (OCR) and given CLIP vectors; then its pages are embedded a group at a time
(whole pages, at least ``publish_group_chunks`` chunks a group, one encode call each), and each
group's messages, one :class:`ChunkEmbedded` per chunk (or one :class:`PageRemoved` for a page
without chunks), are published with the page id as key as soon as the group is encoded. The
handler returns only once Kafka acknowledged every message of the batch, so the consumer
commits the batch's offsets only after its output is durable; a batch retried after a failure
publishes its first groups again, which the retriever's indexing by chunk id absorbs.
A page too large for one message (``body_ref``) is completed from the scraper before chunking.
A failing page is retried and then dead-lettered to ``page.parsed.dlq`` by the common consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
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

    async def message_groups(
        self, pages: Sequence[PageParsed], group_chunks: int
    ) -> AsyncGenerator[list[ChunkTopicMessage], None]:
        """The batch's messages, page by page in arrival order, in groups of whole pages of at
        least ``group_chunks`` chunks (the last group may be smaller); each group is encoded
        only when the previous one was taken."""
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
        pending = {
            page.page_id: text_chunks[page.page_id] + image_chunks[page.page_id] for page in live
        }
        group: list[PageParsed] = []
        size = 0
        for page in current:
            group.append(page)
            size += len(pending.get(page.page_id, []))
            if size >= group_chunks:
                yield await self._messages(models, group, pending)
                group, size = [], 0
        if group:
            yield await self._messages(models, group, pending)

    async def _messages(
        self,
        models: Loaded,
        pages: Sequence[PageParsed],
        pending: Mapping[str, list[_Pending]],
    ) -> list[ChunkTopicMessage]:
        """The messages of ``pages``, their chunks encoded in one call."""
        per_page = [pending.get(page.page_id, []) for page in pages]
        passages = [item.chunk.passage for chunks in per_page for item in chunks]
        vectors: list[list[float]] = []
        if passages:
            with self.metrics.encode_seconds.time():
                vectors = await models.text.embed(passages)
        remaining = iter(vectors)
        messages: list[ChunkTopicMessage] = []
        for page, chunks in zip(pages, per_page, strict=True):
            embedded = [
                EmbeddedChunk(item.chunk, next(remaining), item.image_vector) for item in chunks
            ]
            messages.extend(page_events(page, embedded))
            self._count(page, embedded)
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


async def publish_groups(
    broker: KafkaBroker, topic: str, groups: AsyncIterator[Sequence[ChunkTopicMessage]]
) -> None:
    """Publish every message keyed by page id, each group as soon as it comes, and return once
    Kafka acknowledged all of them.

    Messages are handed to the producer without waiting for each acknowledgement (the producer
    batches them and sends while the next group is encoded); the acknowledgements are awaited
    together at the end.
    """
    pending = []
    async for messages in groups:
        pending += [
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
        current = await bodies.inline(latest_versions(pages))
        async with aclosing(
            embedder.message_groups(current, settings.publish_group_chunks)
        ) as groups:
            await publish_groups(broker, target.name, groups)

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
