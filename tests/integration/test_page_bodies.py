"""Pages passed by reference: the real scraper app (its body route over its PostgreSQL store)
serves bodies that its own publisher stored, and the embedder, through real Kafka, chunks them like
inline pages. A body the scraper does not have is dead-lettered; a scraper that is down is a
dependency outage, not a data error.

The scraper is imported here (the only place the embedder's code meets it) because this is the
contract between the two services; the embedder's package never imports it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
import uvicorn
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from ragchat_common.consumer import DependencyUnavailable
from ragchat_common.events import ChunkEmbedded, ChunkTopicEvent, PageParsed, TextBlock
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_embedder.domain.bodies import InvalidPageBody
from ragchat_embedder.handlers.bodies import PageBodyReader
from ragchat_embedder.main import create_app as create_embedder
from ragchat_embedder.settings import EmbedderSettings
from ragchat_scraper.crawler.publisher import PagePublisher
from ragchat_scraper.main import create_app as create_scraper
from ragchat_scraper.settings import ScraperSettings
from ragchat_scraper.store.crawl_store import CrawlStore
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness.kafka import TopicReader

KB = uuid4()
LONG = [
    TextBlock(
        heading_path=["Returns", f"Case {i}"],
        text=" ".join(f"Parcel {i}.{j} goes back to the depot in Lyon." for j in range(30)),
    )
    for i in range(4)
]


@dataclass(frozen=True)
class RunningScraper:
    """The scraper app served over HTTP on 127.0.0.1, and its page store."""

    url: str
    store: CrawlStore


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def scraper(
    kafka: KafkaSettings,
    scratch_database: PostgresSettings,
    redis_settings: RedisSettings,
    unique: str,
) -> AsyncIterator[RunningScraper]:
    """The whole scraper app (migrations, Kafka, Redis, HTTP) listening on a free port."""
    submitted = TopicSpec(f"test.{unique}.bodies-submitted", 1)
    await ensure_topics(kafka.bootstrap_servers, (submitted, submitted.dead_letter))
    sock = free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = ScraperSettings(
        kafka=kafka,
        postgres=scratch_database,
        redis=redis_settings,
        input_topic=submitted.name,
        consumer_group=f"test-{unique}",
        public_url=url,
    )
    server = uvicorn.Server(uvicorn.Config(create_scraper(settings), log_config=None))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    engine = create_async_engine(scratch_database.async_url())
    try:
        async with asyncio.timeout(120):
            while not server.started:
                assert not serving.done(), "the scraper app did not start"
                await asyncio.sleep(0.05)
        yield RunningScraper(url, CrawlStore(engine))
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()
        sock.close()


def page(name: str, **fields: object) -> PageParsed:
    url = f"https://shop.example/{name}"
    return PageParsed(
        page_id=uuid4().hex,
        crawl_id=UUID(int=1),
        kb_id=KB,
        tenant_id=UUID(int=2),
        url=url,
        canonical_url=url,
        **fields,  # type: ignore[arg-type]
    )


def every_chunk_of(pages: set[str]) -> Callable[[list[ConsumerRecord[bytes, bytes]]], bool]:
    """True once the records hold every chunk of each of ``pages``."""

    def check(records: list[ConsumerRecord[bytes, bytes]]) -> bool:
        counts: dict[str, tuple[int, int]] = {}
        for record in records:
            event = ChunkTopicEvent.model_validate_json(record.value).root
            seen, _ = counts.get(event.page_id, (0, 0))
            counts[event.page_id] = (seen + 1, max(1, event.chunk_count))
        return all(p in counts and counts[p][0] == counts[p][1] for p in pages)

    return check


@pytest.mark.integration
@pytest.mark.timeout(600)
async def test_a_page_passed_by_reference_is_fetched_from_the_scraper_and_chunked(
    scraper: RunningScraper, kafka: KafkaSettings, unique: str, read_topic: TopicReader
) -> None:
    pages_topic = TopicSpec(f"test.{unique}.bodies-pages", 1)
    chunks_topic = TopicSpec(f"test.{unique}.bodies-chunks", 1)
    await ensure_topics(
        kafka.bootstrap_servers, (pages_topic, pages_topic.dead_letter, chunks_topic)
    )
    large = page("large", title="Returns", content_hash="a" * 64, blocks=LONG)
    small = page("small", title="FAQ", content_hash="b" * 64, blocks=[TextBlock(text="Hi.")])
    # A reference to the scraper for a body it never stored (its row was lost, say).
    missing = page("missing", content_hash="c" * 64)
    missing = missing.model_copy(
        update={"body_ref": f"{scraper.url}/v1/page-bodies/{missing.page_id}/{'c' * 64}"}
    )

    broker = KafkaBroker(kafka.bootstrap_servers)
    await broker.start()
    try:
        publisher = PagePublisher(
            broker, scraper.store, scraper.url, max_message_bytes=4000, page_topic=pages_topic.name
        )
        sent_large = await publisher.page(large)
        sent_small = await publisher.page(small)
        await broker.publish(missing, pages_topic.name, key=missing.page_id.encode())
    finally:
        await broker.stop()
    assert sent_large.blocks == [] and sent_large.body_ref == (
        f"{scraper.url}/v1/page-bodies/{large.page_id}/{'a' * 64}"
    )
    assert sent_small.body_ref is None and sent_small.blocks == small.blocks

    settings = EmbedderSettings(
        kafka=kafka,
        group_id=f"test-{unique}",
        device="cpu",
        max_attempts=2,
        images_enabled=False,
        scraper_url=scraper.url,
    )
    app = create_embedder(settings, pages_topic, chunks_topic)
    expected = {large.page_id, small.page_id}
    async with app.router.lifespan_context(app):
        records = await read_topic(chunks_topic.name, every_chunk_of(expected))
        dead = await read_topic(pages_topic.dead_letter.name, lambda rs: len(rs) >= 1)

    chunks = [ChunkTopicEvent.model_validate_json(r.value).root for r in records]
    by_ref = [c for c in chunks if isinstance(c, ChunkEmbedded) and c.page_id == large.page_id]
    assert len(by_ref) > 1, "the long body is cut into several chunks"
    assert {tuple(c.heading_path) for c in by_ref} == {tuple(b.heading_path) for b in LONG}
    assert "Parcel 3.29 goes back to the depot in Lyon." in " ".join(c.text for c in by_ref)
    assert all(c.title == "Returns" for c in by_ref)
    [inline] = [c for c in chunks if c.page_id == small.page_id]
    assert isinstance(inline, ChunkEmbedded) and inline.text == "Hi."

    [record] = dead
    headers = dict(record.headers)
    assert record.key == missing.page_id.encode()
    assert headers["x-dead-letter-reason"] == b"failed"
    assert b"PageBodyMissing" in headers["x-error"] and b"has no body" in headers["x-error"]


@pytest.mark.unit
async def test_a_scraper_that_is_down_is_a_dependency_outage_not_a_data_error() -> None:
    sock = free_socket()  # bound but not listening: connections to it are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    by_ref = page("down", content_hash="d" * 64)
    by_ref = by_ref.model_copy(
        update={"body_ref": f"{url}/v1/page-bodies/{by_ref.page_id}/{'d' * 64}"}
    )
    try:
        with pytest.raises(DependencyUnavailable, match="scraper at"):
            await PageBodyReader(url, timeout_s=5).inline([by_ref])
    finally:
        sock.close()


@pytest.mark.unit
async def test_only_the_configured_scrapers_body_of_the_page_is_followed() -> None:
    reader = PageBodyReader("http://scraper.internal:8082", timeout_s=5)
    elsewhere = page("elsewhere", content_hash="e" * 64, body_ref="http://169.254.169.254/latest")
    with pytest.raises(InvalidPageBody, match="only the configured scraper"):
        await reader.inline([elsewhere])
    inline = page("inline", blocks=[TextBlock(text="Already here.")])
    assert await reader.inline([inline]) == [inline]
