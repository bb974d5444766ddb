"""A real crawl of a small site made here, through real Kafka, PostgreSQL, Redis and Chromium.

The site (aiohttp on 127.0.0.1, the only address the SSRF guard is told to admit) has a robots.txt
disallowing /private/ and naming a sitemap, a redirect, two URLs with the same content, a page
whose text only JavaScript writes, an image with alt text, a PDF, a zip file, a link to a private
address and a redirect to the cloud metadata address. The test submits crawls on ``url.submitted``
and asserts exactly what was published on ``page.parsed`` and what was refused, and why.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from uuid import UUID, uuid4

import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from ragchat_common.events import (
    CrawlMode,
    CrawlProgress,
    CrawlState,
    PageParsed,
    UrlSubmitted,
)
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_scraper.main import create_app
from ragchat_scraper.settings import ScraperSettings
from ragchat_scraper.store.crawl_store import CrawlStore
from ragchat_scraper.store.tables import PageStatus
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration

ABOUT = """<html><head><title>About us</title></head><body><main><h1>About us</h1>
<p>We make widgets that last for decades and we answer every support mail in a day.</p>
</main></body></html>"""
APP_JS = """document.getElementById('root').innerHTML =
  '<h1>Pricing</h1><p>' + 'The basic plan costs ten euros a month. '.repeat(8) + '</p>';"""


def index_html(port: int) -> str:
    return """<html lang="en"><head><title>Widgets home</title>
<meta name="description" content="Everything about widgets."></head><body>
<nav><a href="/about.html">About</a> <a href="/copy.html">About (copy)</a></nav>
<main><h1>Widgets</h1><p>Widgets are small and useful. Read the guide for details.</p>
<figure><img src="/logo.png" alt="Company logo"><figcaption>Our logo</figcaption></figure>
<ul>
<li><a href="/old-page">Old page</a></li>
<li><a href="/private/secret.html">Secret</a></li>
<li><a href="/app.html">Pricing</a></li>
<li><a href="/guide.pdf">Guide</a></li>
<li><a href="/files/data.zip">Data</a></li>
<li><a href="/logo.png">Logo</a></li>
<li><a href="http://10.1.2.3/admin">Router</a></li>
<li><a href="/go-metadata">Metadata</a></li>
<li><a href="#top">Top</a> <a href="/?utm_source=self">Home</a></li>
</ul></main></body></html>"""


@dataclass
class Site:
    """The test's website, and switches to change it between crawls."""

    port: int = 0
    gone: set[str] = field(default_factory=set)
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def site_app(site: Site, make_pdf: Callable[..., bytes]) -> web.Application:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d5a1a90000000049454e44ae426082"
    )
    html = "text/html"

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        site.hits.append(path)
        if path in site.gone:
            return web.Response(status=404, text="gone")
        routes: dict[str, tuple[bytes | str, str]] = {
            "/": (index_html(site.port), html),
            "/about.html": (ABOUT, html),
            "/copy.html": (ABOUT, html),
            "/moved.html": (
                "<html><head><title>Moved</title></head><body><p>This page moved here and "
                "explains returns: send the widget back within thirty days.</p></body></html>",
                html,
            ),
            "/orphan.html": (
                "<html><head><title>Orphan</title></head><body><p>Only the sitemap links to "
                "this page about warranty: two years on every widget.</p></body></html>",
                html,
            ),
            "/private/secret.html": ("<p>secret</p>", html),
            "/app.html": (
                '<html><head><title>Pricing</title></head><body><div id="root"></div>'
                '<script src="/app.js"></script></body></html>',
                html,
            ),
            "/app.js": (APP_JS, "application/javascript"),
            "/guide.pdf": (
                make_pdf("Widgets need no tools to install.", title="Guide"),
                "application/pdf",
            ),
            "/files/data.zip": (b"PK\x03\x04 not really a zip", "application/zip"),
            "/logo.png": (png, "image/png"),
            "/robots.txt": (
                f"User-agent: *\nDisallow: /private/\nSitemap: {site.url('/sitemap.xml')}\n",
                "text/plain",
            ),
            "/sitemap.xml": (
                '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{site.url('/sitemap-pages.xml')}</loc></sitemap></sitemapindex>",
                "application/xml",
            ),
            "/sitemap-pages.xml": (
                '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<url><loc>{site.url('/about.html')}</loc></url>"
                f"<url><loc>{site.url('/orphan.html')}</loc></url>"
                f"<url><loc>{site.url('/private/secret.html')}</loc></url></urlset>",
                "application/xml",
            ),
        }
        if path == "/old-page":
            raise web.HTTPMovedPermanently(location="/moved.html")
        if path == "/go-metadata":
            raise web.HTTPFound(location="http://169.254.169.254/latest/meta-data/")
        if path not in routes:
            return web.Response(status=404, text="not found")
        body, content_type = routes[path]
        data = body.encode() if isinstance(body, str) else body
        return web.Response(body=data, content_type=content_type)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


@pytest.fixture
async def site(make_pdf: Callable[..., bytes]) -> AsyncIterator[Site]:
    state = Site()
    runner = web.AppRunner(site_app(state, make_pdf))
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    state.port = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


@dataclass
class Scraper:
    """The scraper app running in this process, and its topics."""

    settings: ScraperSettings
    kafka: KafkaSettings
    store: CrawlStore

    async def submit(self, event: UrlSubmitted) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(
                self.settings.input_topic,
                event.model_dump_json().encode(),
                key=str(event.kb_id).encode(),
            )
        finally:
            await producer.stop()

    async def crawl(
        self, kb_id: UUID, urls: list[str], mode: CrawlMode
    ) -> tuple[UUID, list[PageParsed], list[CrawlProgress]]:
        """Submit a crawl, wait for its final progress event, return what it published."""
        crawl_id = uuid4()
        await self.submit(
            UrlSubmitted(
                crawl_id=crawl_id,
                kb_id=kb_id,
                tenant_id=kb_id,
                urls=urls,
                mode=mode,
                submitted_by="test",
            )
        )
        progress = [
            CrawlProgress.model_validate_json(v)
            for v in await read_until(
                self.kafka,
                self.settings.progress_topic,
                lambda v: (
                    json.loads(v)["crawl_id"] == str(crawl_id)
                    and json.loads(v)["state"] != "running"
                ),
            )
        ]
        pages = [
            PageParsed.model_validate_json(v)
            for v in await read_until(
                self.kafka, self.settings.pages_topic, lambda v: False, idle_s=1.0
            )
        ]
        mine = [p for p in pages if p.crawl_id == crawl_id]
        return crawl_id, mine, [p for p in progress if p.crawl_id == crawl_id]

    async def statuses(self, crawl_id: UUID) -> dict[str, tuple[PageStatus, str | None]]:
        return {r.url: (r.status, r.reason) for r in await self.store.records(crawl_id)}


async def read_until(
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


@pytest.fixture
async def scraper(
    kafka: KafkaSettings,
    scratch_database: PostgresSettings,
    redis_settings: RedisSettings,
    unique: str,
) -> AsyncIterator[Scraper]:
    topics = [TopicSpec(f"test.{unique}.{name}", 1) for name in ("submitted", "pages", "progress")]
    await ensure_topics(kafka.bootstrap_servers, (*topics, topics[0].dead_letter))
    settings = ScraperSettings(
        kafka=kafka,
        postgres=scratch_database,
        redis=redis_settings,
        ssrf_allow_list=["127.0.0.1"],
        input_topic=topics[0].name,
        pages_topic=topics[1].name,
        progress_topic=topics[2].name,
        consumer_group=f"test-{unique}",
        max_attempts=1,
    )
    app = create_app(settings)
    engine = create_async_engine(scratch_database.async_url())
    async with app.router.lifespan_context(app):
        yield Scraper(settings, kafka, CrawlStore(engine))
    await engine.dispose()


def by_url(pages: list[PageParsed]) -> dict[str, PageParsed]:
    return {p.url: p for p in pages}


async def test_recursive_crawl_publishes_pages_and_refuses_what_it_must(
    scraper: Scraper, site: Site
) -> None:
    kb_id = uuid4()
    crawl_id, pages, progress = await scraper.crawl(kb_id, [site.url("/")], CrawlMode.RECURSIVE)

    assert progress[-1].state is CrawlState.DONE
    published = by_url(pages)
    about_twin = {site.url("/about.html"), site.url("/copy.html")} & set(published)
    assert len(about_twin) == 1, "two URLs with the same content are published once"
    assert set(published) == {
        site.url("/"),
        site.url("/moved.html"),
        site.url("/app.html"),
        site.url("/guide.pdf"),
        site.url("/logo.png"),
        *about_twin,
    }
    home = published[site.url("/")]
    assert home.title == "Widgets home" and home.language == "en"
    assert home.description == "Everything about widgets."
    assert "Widgets are small and useful." in home.blocks[0].text
    [logo] = home.images
    assert (logo.src, logo.alt, logo.caption) == (site.url("/logo.png"), "Company logo", "Our logo")
    assert "ten euros a month" in published[site.url("/app.html")].blocks[0].text
    assert published[site.url("/guide.pdf")].blocks[0].text == "Widgets need no tools to install."
    assert published[site.url("/logo.png")].content_type == "image/png"
    assert "thirty days" in published[site.url("/moved.html")].blocks[0].text

    statuses = await scraper.statuses(crawl_id)
    twin = (about_twin ^ {site.url("/about.html"), site.url("/copy.html")}).pop()
    assert statuses[twin] == (PageStatus.DUPLICATE, f"same content as {about_twin.pop()}")
    assert statuses[site.url("/private/secret.html")][0] is PageStatus.REFUSED_ROBOTS
    status, reason = statuses["http://10.1.2.3/admin"]
    assert status is PageStatus.REFUSED_SSRF and "private address" in (reason or "")
    status, reason = statuses[site.url("/go-metadata")]
    assert status is PageStatus.REFUSED_SSRF and "cloud metadata address" in (reason or "")
    assert statuses[site.url("/files/data.zip")] == (
        PageStatus.SKIPPED,
        "content type application/zip is not indexed",
    )
    assert statuses[site.url("/old-page")][0] is PageStatus.FETCHED
    assert "/private/secret.html" not in site.hits
    assert len(statuses) == 11  # the two fragments/tracking links above are the home page
    assert progress[-1].discovered == 11 and progress[-1].fetched == 6

    # A re-crawl: unchanged pages are not published again; a page that went away is deleted.
    site.gone.add("/moved.html")
    recrawl_id, again, progress = await scraper.crawl(kb_id, [site.url("/")], CrawlMode.RECURSIVE)
    assert progress[-1].state is CrawlState.DONE
    assert [(p.url, p.deleted) for p in again] == [(site.url("/moved.html"), True)]
    statuses = await scraper.statuses(recrawl_id)
    assert statuses[site.url("/")][0] is PageStatus.UNCHANGED
    assert statuses[site.url("/old-page")][0] is PageStatus.GONE


async def test_sitemap_crawl_follows_robots_sitemap_lines_and_indexes(
    scraper: Scraper, site: Site
) -> None:
    crawl_id, pages, progress = await scraper.crawl(uuid4(), [site.url("/")], CrawlMode.SITEMAP)
    assert progress[-1].state is CrawlState.DONE
    assert set(by_url(pages)) == {site.url("/about.html"), site.url("/orphan.html")}
    statuses = await scraper.statuses(crawl_id)
    assert statuses[site.url("/private/secret.html")][0] is PageStatus.REFUSED_ROBOTS
    assert len(statuses) == 3


async def test_a_crawl_of_only_refused_addresses_fails_with_the_reason(scraper: Scraper) -> None:
    crawl_id = uuid4()
    await scraper.submit(
        UrlSubmitted(
            crawl_id=crawl_id,
            kb_id=uuid4(),
            tenant_id=uuid4(),
            urls=["http://169.254.169.254/latest/", "file:///etc/passwd"],
            mode=CrawlMode.LIST,
            submitted_by="test",
        )
    )
    values = await read_until(
        scraper.kafka,
        scraper.settings.progress_topic,
        lambda v: json.loads(v)["crawl_id"] == str(crawl_id),
    )
    assert CrawlProgress.model_validate_json(values[-1]).state is CrawlState.FAILED
    statuses = await scraper.statuses(crawl_id)
    assert statuses == {
        "http://169.254.169.254/latest/": (
            PageStatus.REFUSED_SSRF,
            "refused to fetch 169.254.169.254: cloud metadata address",
        )
    }
