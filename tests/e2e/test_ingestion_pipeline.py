"""Ingestion end to end on a small site made here: what reaches OpenSearch, and what is refused.

The scraper, embedder and retriever run as real processes (their console scripts) against real
Kafka, OpenSearch, PostgreSQL and Redis, on topics, consumer groups, an index alias, a scraper
database and ports of this test's own (so a ``make up`` stack on the default names is neither
disturbed nor disturbing). The site (see :class:`tests.harness.sites.WidgetsSite`) has robots.txt
disallowing /private/ and naming a sitemap index, a redirect, two URLs with the same content, a
page that only JavaScript fills, an image with alt text and words drawn inside it, a link to a
private address, a PDF, and a page too large for the (deliberately small) message limit, which
travels by reference. Crawls are submitted as ``UrlSubmitted`` on Kafka; the test waits for
the crawl's final ``crawl.progress`` and for both consumer groups to have no lag, then asserts
exactly which pages and chunks are in the index and which URLs were refused, and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from ragchat_common.events import CrawlMode, CrawlScope, CrawlState, PageParsed, UrlSubmitted

from tests.harness.checks import assert_well_formed, chunks_by_url
from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_pipeline
from tests.harness.sites import (
    ABOUT_TEXT,
    HANDBOOK_RULES,
    HOME_TEXT,
    MOVED_TEXT,
    ORPHAN_TEXT,
    PDF_TEXT,
    PRICING_SENTENCE,
    PRIVATE_LINK,
    SIGN_ALT,
    SIGN_LINES,
    WidgetsSite,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CRAWL_WITHIN_S = 300.0
SETTLE_WITHIN_S = 300.0
# Small enough that the handbook page (about 11 kB as JSON) exceeds it and travels by reference
# (stored by the scraper, fetched by the embedder); every other page of the site fits.
MAX_MESSAGE_BYTES = "8000"


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[WidgetsSite]:
    widgets = WidgetsSite()
    await widgets.start()
    try:
        yield widgets
    finally:
        await widgets.stop()


@pytest.fixture(scope="module")
async def pipeline(
    infra: Infrastructure,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[IngestionPipeline]:
    """One pipeline for the module (each test crawls into a knowledge base of its own)."""
    suffix = uuid4().hex[:10]
    async with running_pipeline(
        infra,
        suffix,
        tmp_path_factory.mktemp("pipeline"),
        scraper_env={"SCRAPER_MAX_MESSAGE_BYTES": MAX_MESSAGE_BYTES},
    ) as running:
        yield running


async def crawl(
    pipeline: IngestionPipeline, kb_id: UUID, urls: list[str], mode: CrawlMode
) -> tuple[UUID, Any]:
    """Submit a crawl and wait for its end; returns its id and final progress."""
    crawl_id = uuid4()
    await pipeline.submit(
        UrlSubmitted(
            crawl_id=crawl_id,
            kb_id=kb_id,
            tenant_id=kb_id,
            urls=urls,
            mode=mode,
            scope=CrawlScope(max_pages=50),
            submitted_by="e2e",
        )
    )
    return crawl_id, await pipeline.crawl_end(crawl_id, CRAWL_WITHIN_S)


async def test_recursive_crawl_indexes_exactly_the_admitted_pages(
    pipeline: IngestionPipeline, site: WidgetsSite
) -> None:
    kb_id = uuid4()
    crawl_id, progress = await crawl(pipeline, kb_id, [site.url("/")], CrawlMode.RECURSIVE)
    assert progress.state is CrawlState.DONE
    await pipeline.settle(SETTLE_WITHIN_S)

    # What the scraper decided about every URL it met, and why.
    rows = await pipeline.crawl_pages(crawl_id)
    statuses = {url: row["status"] for url, row in rows.items()}
    about, copy = site.url("/about.html"), site.url("/copy.html")
    [original] = [u for u in (about, copy) if statuses[u] == "fetched"]
    [twin] = {about, copy} - {original}
    assert statuses == {
        site.url("/"): "fetched",
        original: "fetched",
        twin: "duplicate",
        site.url("/old-page"): "fetched",
        site.url("/app.html"): "fetched",
        site.url("/guide.pdf"): "fetched",
        site.url("/handbook.html"): "fetched",
        site.url("/private/secret.html"): "refused_robots",
        PRIVATE_LINK: "refused_ssrf",
    }
    assert rows[twin]["reason"] == f"same content as {original}"
    assert rows[site.url("/private/secret.html")]["reason"] == (
        f"robots.txt disallows {site.url('/private/secret.html')} for ragchat-bot"
    )
    assert "private address" in rows[PRIVATE_LINK]["reason"]
    assert rows[site.url("/old-page")]["final_url"] == site.url("/moved.html")
    assert rows[site.url("/app.html")]["rendered"] is True
    assert "/private/secret.html" not in site.hits
    counters = (progress.discovered, progress.fetched, progress.failed, progress.skipped)
    assert counters == (9, 6, 0, 3)

    # What is in OpenSearch: exactly these pages, their chunks, the image read by OCR, the PDF.
    chunks = await pipeline.indexed_chunks(kb_id)
    assert_well_formed(chunks, kb_id)
    pages = chunks_by_url(chunks)
    assert {url: len(page) for url, page in pages.items()} == {
        site.url("/"): 2,
        original: 1,
        site.url("/moved.html"): 1,
        site.url("/app.html"): 1,
        site.url("/guide.pdf"): 1,
        site.url("/handbook.html"): len(pages[site.url("/handbook.html")]),
    }
    home_text, sign = pages[site.url("/")]
    assert home_text["title"] == "Widgets home" and home_text["language"] == "en"
    assert HOME_TEXT in home_text["text"] and home_text.get("image") is None
    assert sign["image"]["src"] == site.url("/img/sign.png")
    assert sign["image"]["alt"] == SIGN_ALT
    assert sign["text"] == "\n".join((SIGN_ALT, *SIGN_LINES)), "alt text, then the OCR'd words"
    assert ABOUT_TEXT in pages[original][0]["text"]
    assert MOVED_TEXT in pages[site.url("/moved.html")][0]["text"]
    assert pages[site.url("/app.html")][0]["text"].count(PRICING_SENTENCE) == 8
    [pdf] = pages[site.url("/guide.pdf")]
    assert pdf["content_type"] == "application/pdf" and PDF_TEXT in pdf["text"]
    # The handbook went by reference and came back whole: every rule is in one of its chunks.
    handbook = pages[site.url("/handbook.html")]
    [sent] = [
        p
        for p in map(PageParsed.model_validate_json, await pipeline.messages(pipeline.names.pages))
        if p.url == site.url("/handbook.html")
    ]
    assert sent.body_ref is not None and sent.blocks == []
    assert len(handbook) > 1
    assert all(any(rule in c["text"] for c in handbook) for rule in HANDBOOK_RULES)
    assert {c["crawl_id"] for c in chunks} == {str(crawl_id)}
    dead = await pipeline.dead_letters()
    assert dead == dict.fromkeys(dead, 0)

    # A second submission of the same site changes nothing in the index.
    again_id, again = await crawl(pipeline, kb_id, [site.url("/")], CrawlMode.RECURSIVE)
    assert again.state is CrawlState.DONE
    await pipeline.settle(SETTLE_WITHIN_S)
    assert Counter(r["status"] for r in (await pipeline.crawl_pages(again_id)).values()) == {
        "unchanged": 6,
        "duplicate": 1,
        "refused_robots": 1,
        "refused_ssrf": 1,
    }
    assert sorted(c["chunk_id"] for c in await pipeline.indexed_chunks(kb_id)) == sorted(
        c["chunk_id"] for c in chunks
    )


async def test_sitemap_crawl_indexes_the_pages_the_sitemaps_list(
    pipeline: IngestionPipeline, site: WidgetsSite
) -> None:
    kb_id = uuid4()
    crawl_id, progress = await crawl(pipeline, kb_id, [site.url("/")], CrawlMode.SITEMAP)
    assert progress.state is CrawlState.DONE
    await pipeline.settle(SETTLE_WITHIN_S)

    rows = await pipeline.crawl_pages(crawl_id)
    assert {url: row["status"] for url, row in rows.items()} == {
        site.url("/about.html"): "fetched",
        site.url("/orphan.html"): "fetched",
        site.url("/private/secret.html"): "refused_robots",
    }
    assert {"/robots.txt", "/sitemap.xml", "/sitemap-pages.xml"} <= set(site.hits)

    chunks = await pipeline.indexed_chunks(kb_id)
    assert_well_formed(chunks, kb_id)
    pages = chunks_by_url(chunks)
    assert set(pages) == {site.url("/about.html"), site.url("/orphan.html")}
    assert ABOUT_TEXT in pages[site.url("/about.html")][0]["text"]
    assert ORPHAN_TEXT in pages[site.url("/orphan.html")][0]["text"]
