"""The embedder end to end through real Kafka: the app (models, readiness, subscriber) consumes
parsed pages from a topic of this test's own and publishes embedded chunks. Chunk ids are stable
across a re-run, vectors are normalised, heading paths and images come through, deleted pages
become removals, and a page that cannot be handled lands in the dead-letter topic."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from ragchat_common.events import (
    ChunkEmbedded,
    ChunkTopicEvent,
    ImageRef,
    PageParsed,
    PageRemoved,
    TextBlock,
    page_id_for,
)
from ragchat_common.settings import KafkaSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_embedder.main import create_app
from ragchat_embedder.settings import EmbedderSettings

from tests.harness.kafka import TopicReader

pytestmark = pytest.mark.integration

KB = uuid4()
PARAGRAPH = " ".join(
    f"Step {i}: open the billing page, choose invoice {i} and press the refund button."
    for i in range(40)
)


@dataclass(frozen=True)
class Topics:
    pages: TopicSpec
    chunks: TopicSpec


@pytest.fixture(scope="module")
def image_server(text_png: Callable[[str], bytes]) -> Iterator[str]:
    """A local web server with one picture showing text, and a page that is not an image."""
    files = {
        "/sign.png": (text_png("Open Monday"), "image/png"),
        "/page": (b"<p>hi</p>", "text/html"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, media_type = files.get(self.path, (b"", ""))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", media_type or "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def embedder_settings(kafka: KafkaSettings, group: str, clip: Path) -> EmbedderSettings:
    return EmbedderSettings(
        kafka=kafka,
        group_id=group,
        device="cpu",
        max_attempts=2,
        batch_max_wait_ms=300,
        clip_model_path=clip,
        ssrf_allow_list=["127.0.0.1"],  # the test's own image server; 10.0.0.0/8 stays refused
    )


def page(path: str, **fields: Any) -> PageParsed:
    url = f"https://shop.example/{path}"
    return PageParsed(
        page_id=page_id_for(KB, url),
        crawl_id=UUID(int=1),
        kb_id=KB,
        tenant_id=UUID(int=2),
        url=url,
        canonical_url=url,
        **fields,
    )


@dataclass(frozen=True)
class Run:
    """What one run of the embedder published, by page id, and its readiness report."""

    by_page: dict[str, list[ChunkEmbedded | PageRemoved]]
    readiness: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    pages: dict[str, PageParsed]
    first: Run
    second: Run
    dead: list[ConsumerRecord[bytes, bytes]]


async def produce(kafka: KafkaSettings, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def complete(expected: set[str]) -> Callable[[list[ConsumerRecord[bytes, bytes]]], bool]:
    """True once every expected page has all its chunks, or its removal, in the records."""

    def check(records: list[ConsumerRecord[bytes, bytes]]) -> bool:
        grouped = group(records)
        return expected <= set(grouped) and all(
            len(grouped[p]) == max(1, grouped[p][0].chunk_count) for p in expected
        )

    return check


def group(
    records: list[ConsumerRecord[bytes, bytes]],
) -> dict[str, list[ChunkEmbedded | PageRemoved]]:
    grouped: dict[str, list[ChunkEmbedded | PageRemoved]] = {}
    for record in records:
        event = ChunkTopicEvent.model_validate_json(record.value).root
        assert record.key == event.page_id.encode(), "chunks must be keyed by page id"
        grouped.setdefault(event.page_id, []).append(event)
    return grouped


async def run_embedder(
    settings: EmbedderSettings,
    source: TopicSpec,
    target: TopicSpec,
    expected: set[str],
    read_topic: TopicReader,
) -> Run:
    app = create_app(settings, source, target)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://embedder") as client:
            readiness = (await client.get("/readyz")).json()
        records = await read_topic(target.name, complete(expected))
    return Run(group(records), readiness)


@pytest.fixture(scope="module")
async def outcome(
    kafka: KafkaSettings, image_server: str, tiny_clip_path: Path, read_topic: TopicReader
) -> AsyncIterator[Outcome]:
    suffix = uuid4().hex[:10]
    pages_topic = TopicSpec(f"test.embedder.pages.{suffix}", 2)
    first_out = TopicSpec(f"test.embedder.chunks.{suffix}", 2)
    second_out = TopicSpec(f"test.embedder.chunks-again.{suffix}", 2)
    await ensure_topics(
        kafka.bootstrap_servers, (pages_topic, pages_topic.dead_letter, first_out, second_out)
    )
    pages = {
        "guide": page(
            "guide",
            title="Refund guide",
            blocks=[
                TextBlock(heading_path=["Billing"], text="Invoices are sent monthly."),
                TextBlock(heading_path=["Billing", "Refunds"], text=PARAGRAPH),
            ],
            images=[
                ImageRef(src=f"{image_server}/sign.png", alt="Shop sign", caption="Opening day"),
                ImageRef(src="http://10.1.2.3/private.png", alt="Floor plan"),
                ImageRef(src=f"{image_server}/page"),
            ],
        ),
        "gone": page("gone", deleted=True),
        "blank": page("blank", title="Blank", blocks=[TextBlock(text="   ")]),
        "by-ref": page("by-ref", body_ref="s3://pages/by-ref"),
        "after": page("after", title="FAQ", blocks=[TextBlock(text="Shipping is free.")]),
    }
    messages = [(p.page_id.encode(), p.model_dump_json().encode()) for p in pages.values()]
    messages.insert(2, (b"junk", b'{"not": "a page"}'))
    await produce(kafka, pages_topic.name, messages)
    expected = {p.page_id for name, p in pages.items() if name != "by-ref"}
    first = await run_embedder(
        embedder_settings(kafka, f"first-{suffix}", tiny_clip_path),
        pages_topic,
        first_out,
        expected,
        read_topic,
    )
    # The second run publishes each page as soon as it is encoded (groups of one chunk or more):
    # the output must not depend on how a batch is split.
    second = await run_embedder(
        embedder_settings(kafka, f"second-{suffix}", tiny_clip_path).model_copy(
            update={"publish_group_chunks": 1}
        ),
        pages_topic,
        second_out,
        expected,
        read_topic,
    )
    dead = await read_topic(pages_topic.dead_letter.name, lambda r: len(r) >= 2)
    yield Outcome(pages, first, second, dead)


def chunks_of(run: Run, page: PageParsed) -> list[ChunkEmbedded]:
    events = run.by_page[page.page_id]
    assert all(isinstance(e, ChunkEmbedded) for e in events)
    return [e for e in events if isinstance(e, ChunkEmbedded)]


@pytest.mark.timeout(900)
async def test_a_page_becomes_ordered_chunks_with_normalised_vectors_and_heading_paths(
    outcome: Outcome,
) -> None:
    guide = chunks_of(outcome.first, outcome.pages["guide"])
    count = guide[0].chunk_count
    assert sorted(c.ordinal for c in guide) == list(range(count))
    assert all(c.chunk_count == count for c in guide)
    assert len({c.chunk_id for c in guide}) == count
    vectors = np.array([c.vector for c in guide])
    assert vectors.shape == (count, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    text = [c for c in guide if c.image is None]
    assert text[0].heading_path == ["Billing"] and text[0].text == "Invoices are sent monthly."
    assert len(text) > 2 and all(c.heading_path == ["Billing", "Refunds"] for c in text[1:])
    assert all(c.title == "Refund guide" and c.kb_id == KB for c in guide)


@pytest.mark.timeout(900)
async def test_images_are_indexed_by_alt_caption_and_ocr_text_with_clip_vectors(
    outcome: Outcome,
) -> None:
    images = {c.image.src: c for c in chunks_of(outcome.first, outcome.pages["guide"]) if c.image}
    sign = next(c for src, c in images.items() if src.endswith("/sign.png"))
    assert sign.text == "Shop sign\nOpening day\nOpen Monday"
    assert sign.image_vector is not None and len(sign.image_vector) == 512
    assert np.isclose(np.linalg.norm(sign.image_vector), 1.0, atol=1e-5)
    refused = images["http://10.1.2.3/private.png"]
    assert refused.text == "Floor plan", "a refused image is still indexed by its alt text"
    assert refused.image_vector is None
    assert not any(src.endswith("/page") for src in images), "an image with no text is skipped"


@pytest.mark.timeout(900)
async def test_a_rerun_in_smaller_publish_groups_gives_the_same_chunks(outcome: Outcome) -> None:
    for page in outcome.pages.values():
        first = outcome.first.by_page.get(page.page_id, [])
        again = outcome.second.by_page.get(page.page_id, [])
        assert [(e.chunk_id, e.chunk_count) for e in first if isinstance(e, ChunkEmbedded)] == [
            (e.chunk_id, e.chunk_count) for e in again if isinstance(e, ChunkEmbedded)
        ]
        assert [type(e) for e in first] == [type(e) for e in again]
        vectors = [
            (np.array(a.vector), np.array(b.vector))
            for a, b in zip(first, again, strict=True)
            if isinstance(a, ChunkEmbedded) and isinstance(b, ChunkEmbedded)
        ]
        # Encoded in other batches (other padding): equal up to float noise.
        assert all(np.allclose(a, b, atol=1e-4) for a, b in vectors)


@pytest.mark.timeout(900)
async def test_deleted_and_empty_pages_become_removals(outcome: Outcome) -> None:
    [gone] = outcome.first.by_page[outcome.pages["gone"].page_id]
    [blank] = outcome.first.by_page[outcome.pages["blank"].page_id]
    assert isinstance(gone, PageRemoved) and gone.reason == "deleted" and gone.chunk_count == 0
    assert isinstance(blank, PageRemoved) and blank.reason == "empty"


@pytest.mark.timeout(900)
async def test_bad_messages_are_dead_lettered_and_the_pipeline_keeps_flowing(
    outcome: Outcome,
) -> None:
    reasons = {r.key: dict(r.headers)["x-dead-letter-reason"] for r in outcome.dead}
    by_ref = outcome.pages["by-ref"].page_id.encode()
    assert reasons == {b"junk": b"invalid", by_ref: b"failed"}
    failed = next(r for r in outcome.dead if r.key == by_ref)
    assert b"body_ref" in dict(failed.headers)["x-error"]
    assert outcome.pages["by-ref"].page_id not in outcome.first.by_page
    [after] = chunks_of(outcome.first, outcome.pages["after"])
    assert after.text == "Shipping is free."


@pytest.mark.timeout(900)
async def test_readiness_reports_models_and_image_vectors(
    outcome: Outcome, tiny_clip_path: Path
) -> None:
    report = outcome.first.readiness
    assert report["ready"] is True
    assert report["dependencies"]["image-vectors"]["detail"] == f"on: {tiny_clip_path}"
    assert report["dependencies"]["text-model"]["detail"] == "all-MiniLM-L6-v2 on cpu"
    assert report["dependencies"]["ocr"]["detail"] == "on: RapidOCR"
