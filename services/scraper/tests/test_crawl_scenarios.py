"""Crawl scenarios on real Kafka, PostgreSQL, Redis (and Chromium for one), on sites made here.

Cancellation of a running crawl, resumption of a crawl whose replica was killed (``kill -9`` of a
real scraper process), pages passed by reference, ``scope.render_js``, include/exclude patterns
and the page limit, unreadable sitemaps and out-of-scope links recorded with their reasons.

Pages under ``/slow/`` can be held at the site (after a given number were served) so a test can
act while a crawl is certainly mid-way, without guessing at timings.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ragchat_common.events import (
    CrawlMode,
    CrawlProgress,
    CrawlScope,
    CrawlState,
    PageParsed,
    UrlSubmitted,
)
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_scraper.crawler.runner import cancel_key
from ragchat_scraper.main import create_app
from ragchat_scraper.settings import ScraperSettings
from ragchat_scraper.store.crawl_store import CrawlStore, PageRecord
from ragchat_scraper.store.tables import PageStatus, crawls
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

pytestmark = pytest.mark.integration

FILLER = "Widgets ship from the warehouse in Lyon every weekday before noon. " * 4


def html_page(title: str, text: str, links: Sequence[str] = (), script: str = "") -> str:
    """A page with a heading, ``text`` (long enough not to look like a JavaScript shell), links."""
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    tag = f"<script>{script}</script>" if script else ""
    return (
        f"<html><head><title>{title}</title></head><body><main><h1>{title}</h1>"
        f'<p>{text} {FILLER}</p><div id="more"></div><ul>{anchors}</ul></main>{tag}</body></html>'
    )


@dataclass
class Site:
    """A website on 127.0.0.1: ``pages`` by path, and a gate holding ``/slow/`` pages."""

    pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    port: int = 0
    hits: list[str] = field(default_factory=list)
    slow_free: int | None = None
    held: int = 0
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hold_slow_pages_after(self, served: int) -> None:
        """Serve ``served`` more ``/slow/`` pages, then hold the others until :meth:`release`."""
        self.slow_free = served
        self.gate.clear()

    def release(self) -> None:
        self.slow_free = None
        self.gate.set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits.append(path)
        if path.startswith("/slow/") and self.slow_free is not None:
            if self.slow_free > 0:
                self.slow_free -= 1
            else:
                self.held += 1
                await self.gate.wait()
        if path not in self.pages:
            return web.Response(status=404, text="not found")
        body, content_type = self.pages[path]
        return web.Response(text=body, content_type=content_type)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    state.port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state
    finally:
        state.release()
        await runner.cleanup()


@dataclass
class Harness:
    """Topics, database and Redis of one test, and ways to run scrapers against them."""

    kafka: KafkaSettings
    postgres: PostgresSettings
    redis_settings: RedisSettings
    unique: str
    engine: AsyncEngine
    redis: Redis

    @property
    def store(self) -> CrawlStore:
        return CrawlStore(self.engine)

    def topic(self, name: str) -> str:
        return f"test.{self.unique}.{name}"

    def settings(self, **overrides: Any) -> ScraperSettings:
        values: dict[str, Any] = {
            "kafka": self.kafka,
            "postgres": self.postgres,
            "redis": self.redis_settings,
            "ssrf_allow_list": ["127.0.0.1"],
            "input_topic": self.topic("submitted"),
            "pages_topic": self.topic("pages"),
            "progress_topic": self.topic("progress"),
            "consumer_group": f"test-{self.unique}",
            "max_attempts": 1,
            "render_js_auto": False,
        }
        return ScraperSettings(**(values | overrides))

    @asynccontextmanager
    async def scraper(self, **overrides: Any) -> AsyncIterator[Any]:
        """A scraper app running in this process (yields the app)."""
        app = create_app(self.settings(**overrides))
        async with app.router.lifespan_context(app):
            yield app

    async def submit(
        self, urls: list[str], mode: CrawlMode, scope: CrawlScope | None = None
    ) -> UUID:
        crawl_id, kb_id = uuid4(), uuid4()
        event = UrlSubmitted(
            crawl_id=crawl_id,
            kb_id=kb_id,
            tenant_id=kb_id,
            urls=urls,
            mode=mode,
            scope=scope or CrawlScope(),
            submitted_by="test",
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(
                self.topic("submitted"), event.model_dump_json().encode(), key=str(kb_id).encode()
            )
        finally:
            await producer.stop()
        return crawl_id

    async def final_progress(self, crawl_id: UUID) -> CrawlProgress:
        """The crawl's last ``crawl.progress`` event (the first one not ``running``)."""
        values = await read_topic(
            self.kafka,
            self.topic("progress"),
            lambda v: (
                json.loads(v)["crawl_id"] == str(crawl_id) and json.loads(v)["state"] != "running"
            ),
        )
        return CrawlProgress.model_validate_json(values[-1])

    async def pages(self, crawl_id: UUID) -> list[PageParsed]:
        """Every page the crawl published so far (read until the topic stays idle)."""
        values = await read_topic(self.kafka, self.topic("pages"), lambda v: False, idle_s=1.5)
        pages = [PageParsed.model_validate_json(v) for v in values]
        return [p for p in pages if p.crawl_id == crawl_id]

    async def records(self, crawl_id: UUID) -> dict[str, PageRecord]:
        return {r.url: r for r in await self.store.records(crawl_id)}

    async def crawl(
        self, urls: list[str], mode: CrawlMode, scope: CrawlScope | None = None
    ) -> tuple[UUID, CrawlProgress, list[PageParsed]]:
        crawl_id = await self.submit(urls, mode, scope)
        final = await self.final_progress(crawl_id)
        return crawl_id, final, await self.pages(crawl_id)


async def read_topic(
    kafka: KafkaSettings, topic: str, last: Callable[[bytes], bool], idle_s: float = 120.0
) -> list[bytes]:
    """Values of ``topic`` from the start until one satisfies ``last`` (or it stays idle)."""
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
    )
    await reader.start()
    values: list[bytes] = []
    try:
        while True:
            batch = await reader.getmany(timeout_ms=int(idle_s * 1000))
            records = [r for rs in batch.values() for r in rs]
            if not records:
                return values
            for record in records:
                values.append(record.value)
                if last(record.value):
                    return values
    finally:
        await reader.stop()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, within_s: float = 120
) -> None:
    """Poll ``condition`` until it holds (the bound only stops a broken run from hanging)."""
    try:
        async with asyncio.timeout(within_s):
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"never happened: {what}")


@pytest.fixture
async def harness(
    kafka: KafkaSettings,
    scratch_database: PostgresSettings,
    redis_settings: RedisSettings,
    unique: str,
) -> AsyncIterator[Harness]:
    names = [f"test.{unique}.{n}" for n in ("submitted", "pages", "progress")]
    topics = [TopicSpec(name, 1) for name in names]
    await ensure_topics(kafka.bootstrap_servers, (*topics, topics[0].dead_letter))
    engine = create_async_engine(scratch_database.async_url())
    redis = Redis.from_url(redis_settings.url)
    try:
        yield Harness(kafka, scratch_database, redis_settings, unique, engine, redis)
    finally:
        await redis.aclose()
        await engine.dispose()


def slow_site(site: Site, count: int) -> list[str]:
    """A home page linking to ``count`` pages under /slow/; their URLs."""
    paths = [f"/slow/p{i}.html" for i in range(count)]
    site.pages["/"] = (html_page("Home", "The index of every slow page.", paths), "text/html")
    for i, path in enumerate(paths):
        site.pages[path] = (html_page(f"Page {i}", f"Slow page number {i}."), "text/html")
    return [site.url(p) for p in paths]


async def fetched_count(harness: Harness, crawl_id: UUID) -> int:
    return (await harness.store.status_counts(crawl_id))[PageStatus.FETCHED]


async def test_a_cancelled_crawl_stops_publishing_and_ends_cancelled(
    harness: Harness, site: Site
) -> None:
    slow = slow_site(site, 12)
    site.hold_slow_pages_after(3)
    async with harness.scraper():
        crawl_id = await harness.submit([site.url("/")], CrawlMode.RECURSIVE)

        async def mid_way() -> bool:
            return site.held > 0 and await fetched_count(harness, crawl_id) == 4

        await wait_for(mid_way, "the crawl fetched the home page and 3 slow pages, then waits")
        await harness.redis.set(cancel_key(crawl_id), "1")
        final = await harness.final_progress(crawl_id)
        hits_at_cancel = len(site.hits)
        site.release()
        pages = await harness.pages(crawl_id)
        records = await harness.records(crawl_id)
        assert len(site.hits) == hits_at_cancel, "nothing is fetched after the cancellation"

    assert final.state is CrawlState.CANCELLED and final.fetched == 4
    assert await harness.store.crawl_state(crawl_id) == (
        CrawlState.CANCELLED,
        "cancelled on request",
    )
    assert len(pages) == 4 and len({p.url for p in pages}) == 4
    assert {p.url for p in pages} <= {site.url("/"), *slow}
    statuses = [r.status for r in records.values()]
    assert statuses.count(PageStatus.FETCHED) == 4
    assert statuses.count(PageStatus.DISCOVERED) == 9, "the rest was never fetched"


def scraper_process(harness: Harness, lease_s: float) -> subprocess.Popen[bytes]:
    """A real scraper process (the console entry point) configured through its environment."""
    settings = harness.settings()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": harness.kafka.bootstrap_servers,
        "POSTGRES_HOST": harness.postgres.host,
        "POSTGRES_PORT": str(harness.postgres.port),
        "POSTGRES_USER": harness.postgres.user,
        "POSTGRES_PASSWORD": harness.postgres.password.get_secret_value(),
        "POSTGRES_DB": harness.postgres.db,
        "REDIS_URL": harness.redis_settings.url,
        "SCRAPER_HTTP_PORT": str(port),
        "SCRAPER_SSRF_ALLOW_LIST": "127.0.0.1",
        "SCRAPER_INPUT_TOPIC": settings.input_topic,
        "SCRAPER_PAGES_TOPIC": settings.pages_topic,
        "SCRAPER_PROGRESS_TOPIC": settings.progress_topic,
        "SCRAPER_CONSUMER_GROUP": settings.consumer_group,
        "SCRAPER_MAX_ATTEMPTS": "1",
        "SCRAPER_RENDER_JS_AUTO": "false",
        "SCRAPER_LEASE_S": str(lease_s),
    }
    code = "from ragchat_scraper.main import run; run()"
    return subprocess.Popen([sys.executable, "-c", code], env=env)


@pytest.mark.timeout(600)
async def test_a_crawl_whose_replica_was_killed_is_resumed_by_another_and_publishes_each_page_once(
    harness: Harness, site: Site
) -> None:
    slow = slow_site(site, 10)
    site.hold_slow_pages_after(3)
    crawl_id = await harness.submit([site.url("/")], CrawlMode.RECURSIVE)
    first = scraper_process(harness, lease_s=3)
    try:

        async def mid_way() -> bool:
            assert first.poll() is None, "the first scraper process exited"
            return site.held > 0 and await fetched_count(harness, crawl_id) == 4

        await wait_for(mid_way, "the first replica fetched 4 pages, then waits")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    async with harness.engine.connect() as conn:
        owner = (
            await conn.execute(select(crawls.c.lease_owner).where(crawls.c.id == crawl_id))
        ).scalar_one()
    assert owner is not None and owner.endswith(f":{first.pid}"), "the dead replica holds the lease"

    site.release()
    # Another replica (another consumer group: it needs no submission, only the crawl's rows).
    async with harness.scraper(consumer_group=f"test-{harness.unique}-second"):
        final = await harness.final_progress(crawl_id)
        pages = await harness.pages(crawl_id)

    assert final.state is CrawlState.DONE and final.fetched == 11
    urls = [p.url for p in pages]
    assert sorted(urls) == sorted([site.url("/"), *slow]), "every page published exactly once"
    records = await harness.records(crawl_id)
    assert {r.status for r in records.values()} == {PageStatus.FETCHED}


async def test_a_page_over_the_message_limit_is_published_by_reference_and_served(
    harness: Harness, site: Site
) -> None:
    long_text = " ".join(f"Clause {i}: refunds are paid within {i} days." for i in range(200))
    site.pages["/terms.html"] = (html_page("Terms", long_text), "text/html")
    site.pages["/short.html"] = (html_page("Short", "A short page."), "text/html")
    async with harness.scraper(max_message_bytes=4000) as app:
        _, final, pages = await harness.crawl(
            [site.url("/terms.html"), site.url("/short.html")], CrawlMode.LIST
        )
        by_url = {p.url: p for p in pages}
        terms, short = by_url[site.url("/terms.html")], by_url[site.url("/short.html")]
        public = harness.settings().public_url
        assert terms.blocks == [] and terms.body_ref == (
            f"{public}/v1/page-bodies/{terms.page_id}/{terms.content_hash}"
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=public) as client:
            served = await client.get(terms.body_ref)
            missing = await client.get(f"/v1/page-bodies/{terms.page_id}/{'0' * 64}")

    assert final.state is CrawlState.DONE
    assert len(terms.model_dump_json()) <= 4000
    assert served.status_code == 200 and set(served.json()) == {"blocks", "images"}
    text = " ".join(block["text"] for block in served.json()["blocks"])
    assert "Clause 199: refunds are paid within 199 days." in text
    assert missing.status_code == 404
    assert short.body_ref is None and "A short page." in short.blocks[0].text


async def test_render_js_in_the_scope_renders_pages_that_do_not_look_script_driven(
    harness: Harness, site: Site
) -> None:
    script = "document.getElementById('more').textContent = 'Only the script says this.';"
    site.pages["/rich.html"] = (
        html_page("Rich", "Plenty of static text here.", script=script),
        "text/html",
    )
    async with harness.scraper():
        plain_id, _, [plain] = await harness.crawl([site.url("/rich.html")], CrawlMode.SINGLE)
        js_id, final, [rendered] = await harness.crawl(
            [site.url("/rich.html")], CrawlMode.SINGLE, CrawlScope(render_js=True)
        )

    assert final.state is CrawlState.DONE
    assert "Only the script says this." not in " ".join(b.text for b in plain.blocks)
    assert "Only the script says this." in " ".join(b.text for b in rendered.blocks)
    assert not (await harness.records(plain_id))[site.url("/rich.html")].rendered
    assert (await harness.records(js_id))[site.url("/rich.html")].rendered


async def test_patterns_and_the_page_limit_bound_a_live_crawl_and_out_of_scope_links_are_recorded(
    harness: Harness, site: Site
) -> None:
    links = [
        "/docs/a.html",
        "/docs/b.html",
        "/docs/old/c.html",
        "/blog/x.html",
        "http://elsewhere.example/page",
    ]
    site.pages["/"] = (html_page("Home", "Where everything starts.", links), "text/html")
    for path in links[:4]:
        site.pages[path] = (html_page(path, f"The page at {path}."), "text/html")
    scope = CrawlScope(include_patterns=[r"/docs/"], exclude_patterns=[r"/docs/old/"])
    async with harness.scraper():
        crawl_id, final, pages = await harness.crawl([site.url("/")], CrawlMode.RECURSIVE, scope)
        slow = slow_site(site, 6)
        limited_id, limited, limited_pages = await harness.crawl(
            [site.url("/")], CrawlMode.RECURSIVE, CrawlScope(max_pages=3)
        )

    assert final.state is CrawlState.DONE
    assert {p.url for p in pages} == {site.url(p) for p in ("/", "/docs/a.html", "/docs/b.html")}
    records = await harness.records(crawl_id)
    outside = {u: r.reason for u, r in records.items() if r.status is PageStatus.OUT_OF_SCOPE}
    assert outside == {
        site.url("/docs/old/c.html"): "out of scope: matches an exclude pattern",
        site.url("/blog/x.html"): "out of scope: matches no include pattern",
        "http://elsewhere.example/page": (
            "out of scope: outside the crawl's hosts and path prefixes"
        ),
    }
    assert final.discovered == 3, "out-of-scope links are recorded, not counted as pages"
    assert "/docs/old/c.html" not in site.hits and "/blog/x.html" not in site.hits

    assert limited.state is CrawlState.DONE and limited.fetched == 3
    assert len(limited_pages) == 3 and {p.url for p in limited_pages} <= {site.url("/"), *slow}
    assert await harness.store.crawl_state(limited_id) == (CrawlState.DONE, "page limit reached")


async def test_unreadable_sitemaps_are_recorded_with_their_reason(
    harness: Harness, site: Site
) -> None:
    site.pages["/robots.txt"] = (
        "User-agent: *\n"
        f"Sitemap: {site.url('/broken.xml')}\n"
        f"Sitemap: {site.url('/missing.xml')}\n"
        f"Sitemap: {site.url('/pages.xml')}\n",
        "text/plain",
    )
    site.pages["/broken.xml"] = ("<urlset><url><loc>unclosed", "application/xml")
    site.pages["/pages.xml"] = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{site.url('/faq.html')}</loc></url></urlset>",
        "application/xml",
    )
    site.pages["/faq.html"] = (html_page("FAQ", "Questions and answers."), "text/html")
    async with harness.scraper():
        crawl_id, final, pages = await harness.crawl([site.url("/")], CrawlMode.SITEMAP)
        failed_id, failed, _ = await harness.crawl([site.url("/missing.xml")], CrawlMode.SITEMAP)

    assert final.state is CrawlState.DONE
    assert [p.url for p in pages] == [site.url("/faq.html")]
    records = await harness.records(crawl_id)
    broken, missing = records[site.url("/broken.xml")], records[site.url("/missing.xml")]
    assert broken.status is PageStatus.FAILED
    assert (broken.reason or "").startswith("sitemap not read: not well-formed XML")
    assert (missing.status, missing.reason) == (PageStatus.FAILED, "sitemap not read: HTTP 404")
    assert final.failed == 2
    assert {(f.url, f.reason) for f in final.recent_failures} == {
        (broken.url, broken.reason),
        (missing.url, missing.reason),
    }, "the progress event says which URLs failed and why"

    assert failed.state is CrawlState.FAILED
    assert await harness.store.crawl_state(failed_id) == (
        CrawlState.FAILED,
        f"no page to crawl; sitemap {site.url('/missing.xml')} not read: HTTP 404",
    )
