"""Ingestion end to end on a real site nobody here wrote: Debian's python3-doc HTML.

``deploy/local/python3-doc.sh`` installs the package when missing; ``python3 -m http.server``
serves it on 127.0.0.1. The scraper, embedder and retriever run as real processes on names of
their own (see :mod:`tests.harness.pipeline`). The test proves, for one knowledge base:

1. every page is indexed exactly once: the pages in the index are exactly the pages the scraper
   fetched (one page id per canonical URL), each page's chunks are complete and chunk ids unique;
2. a second submission adds no duplicate: the pages come back unchanged, nothing is re-embedded,
   and the index holds the same chunk-id set;
3. a second pipeline (fresh scraper database, topics and index, same knowledge base) whose
   embedder and retriever are killed with ``kill -9`` while the crawl runs, and then restarted,
   ends with the same chunk-id set as the undisturbed run.

Which site:

- ``make test`` (default): a bounded subset, the folders tutorial/, using/, installing/,
  distributing/ and install/ (27 pages, about 850 chunks; the crawl's scope is those folders, so
  the page set does not depend on which worker is fastest; max_pages 60 is only a guard). CPU
  embedding runs at 6-10 chunks/s here and both runs embed every chunk, so this takes about
  five minutes.
- ``RAGCHAT_E2E_FULL_SITE=1`` (``make test-ingest-full``): the whole site from index.html (about
  530 pages, 22,835 chunks; about 21 minutes on 2 CPU cores). ``make bench-ingest --full``
  measures the same run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from ragchat_common.events import CrawlMode, CrawlProgress, CrawlScope, CrawlState, UrlSubmitted

from tests.harness.checks import assert_well_formed, chunks_by_url
from tests.harness.pipeline import (
    Infrastructure,
    IngestionPipeline,
    PipelineError,
    running_pipeline,
    wait_for,
)
from tests.harness.sites import StaticDirectorySite, python3_doc_root

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

FULL_SITE = os.environ.get("RAGCHAT_E2E_FULL_SITE") == "1"
SUBSET_FOLDERS = ("tutorial", "using", "installing", "distributing", "install")
# Upper bounds only (the machine is small and shared); the waits end as soon as the work is done.
CRAWL_WITHIN_S = 3600.0 if FULL_SITE else 600.0
SETTLE_WITHIN_S = 7200.0 if FULL_SITE else 900.0
KILL_POINT_WITHIN_S = 600.0
# The killed run paces its crawl (a request a second, about 40 s for the subset), so it is still
# crawling when the embedder and retriever die; the undisturbed run crawls at full speed.
PACED_CRAWL = {"SCRAPER_PER_HOST_DELAY_S": "1.0"}
KILL_AFTER_FETCHED = 5


@pytest.fixture(scope="module")
async def docs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StaticDirectorySite]:
    site = StaticDirectorySite(python3_doc_root(), tmp_path_factory.mktemp("docs") / "http.log")
    await site.start()
    try:
        yield site
    finally:
        await site.stop()


def submission(docs: StaticDirectorySite, kb_id: UUID) -> UrlSubmitted:
    """The crawl both runs submit: the subset's folders, or the whole site."""
    if FULL_SITE:
        seeds, scope = [docs.url("/index.html")], CrawlScope(max_depth=10, max_pages=5000)
    else:
        seeds = [docs.url(f"/{folder}/index.html") for folder in SUBSET_FOLDERS]
        scope = CrawlScope(max_depth=3, max_pages=60)
    return UrlSubmitted(
        crawl_id=uuid4(),
        kb_id=kb_id,
        tenant_id=kb_id,
        urls=seeds,
        mode=CrawlMode.RECURSIVE,
        scope=scope,
        submitted_by="e2e",
    )


async def crawl_and_settle(
    pipeline: IngestionPipeline, event: UrlSubmitted
) -> tuple[CrawlProgress, dict[str, Any]]:
    """Submit, wait for the crawl's end and for the index to settle; final progress and rows."""
    await pipeline.submit(event)
    progress = await pipeline.crawl_end(event.crawl_id, CRAWL_WITHIN_S)
    await pipeline.settle(SETTLE_WITHIN_S)
    return progress, await pipeline.crawl_pages(event.crawl_id)


def assert_each_fetched_page_indexed_once(
    chunks: list[dict[str, Any]], rows: dict[str, Any], kb_id: UUID
) -> None:
    """The index's pages are exactly the fetched pages, each under one page id, whole."""
    assert_well_formed(chunks, kb_id)
    fetched = {row["page_id"] for row in rows.values() if row["status"] == "fetched"}
    indexed = {chunk["page_id"] for chunk in chunks}
    assert indexed == fetched
    urls = list(chunks_by_url(chunks))
    assert len(urls) == len(indexed), "one URL per page id"


async def test_python_docs_are_indexed_once_even_across_resubmission_and_kill_9(
    infra: Infrastructure, docs: StaticDirectorySite, tmp_path: Path
) -> None:
    kb_id = uuid4()

    # The undisturbed run, then the same submission again.
    async with running_pipeline(infra, uuid4().hex[:10], tmp_path) as calm:
        progress, rows = await crawl_and_settle(calm, submission(docs, kb_id))
        assert progress.state is CrawlState.DONE
        assert progress.failed == 0
        reference = await calm.indexed_chunks(kb_id)
        assert_each_fetched_page_indexed_once(reference, rows, kb_id)
        fetched_urls = {url for url, row in rows.items() if row["status"] == "fetched"}
        if not FULL_SITE:
            assert fetched_urls == docs.page_urls(*SUBSET_FOLDERS)
            assert set(chunks_by_url(reference)) == fetched_urls
        embedded_before = await calm.message_count(calm.names.chunks)
        dead = await calm.dead_letters()
        assert dead == dict.fromkeys(dead, 0)

        progress, again = await crawl_and_settle(calm, submission(docs, kb_id))
        assert progress.state is CrawlState.DONE
        statuses = Counter(row["status"] for row in again.values())
        assert statuses["fetched"] == 0
        assert statuses["unchanged"] == len(fetched_urls)
        assert await calm.message_count(calm.names.chunks) == embedded_before, "re-embedded"
        assert sorted(c["chunk_id"] for c in await calm.indexed_chunks(kb_id)) == sorted(
            c["chunk_id"] for c in reference
        )

    # The same crawl on a fresh pipeline whose embedder and retriever die mid-crawl.
    async with running_pipeline(
        infra, uuid4().hex[:10], tmp_path, scraper_env=PACED_CRAWL
    ) as stormy:
        event = submission(docs, kb_id)
        await stormy.submit(event)

        async def mid_crawl() -> bool:
            """Some chunks are indexed (offsets committed) while the crawl is still running."""
            if await stormy.indexed_count(kb_id) == 0:
                return False
            latest = await stormy.last_progress(event.crawl_id)
            if latest is not None and latest.state is not CrawlState.RUNNING:
                raise PipelineError(f"the crawl ended before the kill point: {latest}")
            return latest is not None and latest.fetched >= KILL_AFTER_FETCHED

        try:
            await wait_for("chunks indexed mid-crawl", mid_crawl, KILL_POINT_WITHIN_S)
        except PipelineError as exc:
            raise PipelineError(f"{exc}\n{stormy.logs()}") from None
        stormy.kill_hard("embedder", "retriever")
        await stormy.restart("embedder", "retriever")
        progress = await stormy.crawl_end(event.crawl_id, CRAWL_WITHIN_S)
        assert progress.state is CrawlState.DONE
        await stormy.settle(SETTLE_WITHIN_S)
        survived = await stormy.indexed_chunks(kb_id)
        assert_each_fetched_page_indexed_once(
            survived, await stormy.crawl_pages(event.crawl_id), kb_id
        )
        assert sorted(c["chunk_id"] for c in survived) == sorted(c["chunk_id"] for c in reference)
