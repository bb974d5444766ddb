"""The fetcher against a real local server and real Redis: retries, limits, conditional GETs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from ragchat_common.settings import RedisSettings
from ragchat_common.ssrf import SsrfPolicy, guarded_client
from ragchat_scraper.crawler.fetcher import FetchLimits, Outcome, PageFetcher, retry_after_seconds
from ragchat_scraper.crawler.politeness import HostPoliteness
from redis.asyncio import Redis


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    hits: dict[str, int] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        hits[request.path] = hits.get(request.path, 0) + 1
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nCrawl-delay: 1\n")
        if request.path == "/busy" and hits["/busy"] == 1:
            return web.Response(status=429, headers={"Retry-After": "0"})
        if request.path == "/big":
            return web.Response(body=b"x" * 5000, content_type="text/html")
        if request.path == "/tagged":
            if request.headers.get("If-None-Match") == '"v1"':
                return web.Response(status=304)
            return web.Response(
                text="<p>v1</p>", content_type="text/html", headers={"ETag": '"v1"'}
            )
        if request.path == "/down":
            return web.Response(status=503)
        return web.Response(text="<p>ok</p>", content_type="text/html")

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        await runner.cleanup()


@pytest.fixture
async def fetcher(redis_settings: RedisSettings, unique: str) -> AsyncIterator[PageFetcher]:
    redis = Redis.from_url(redis_settings.url)
    client = guarded_client(SsrfPolicy.from_allow_list(["127.0.0.1"]), follow_redirects=False)
    limits = FetchLimits(
        user_agent="test-bot",
        max_bytes=1000,
        max_redirects=2,
        max_attempts=2,
        max_retry_wait_s=1.0,
        default_delay_s=0.0,
        max_crawl_delay_s=0.05,
    )
    yield PageFetcher(
        client, HostPoliteness(redis, 2, key_prefix=f"test-{unique}"), limits, "test-bot"
    )
    await client.aclose()
    await redis.aclose()


@pytest.mark.integration
async def test_429_is_retried_after_retry_after(
    server: tuple[str, dict[str, int]], fetcher: PageFetcher
) -> None:
    base, hits = server
    result = await fetcher.fetch(f"{base}/busy")
    assert result.outcome is Outcome.OK and result.body == b"<p>ok</p>"
    assert hits["/busy"] == 2


@pytest.mark.integration
async def test_persistent_503_fails_with_the_attempts_counted(
    server: tuple[str, dict[str, int]], fetcher: PageFetcher
) -> None:
    base, hits = server
    result = await fetcher.fetch(f"{base}/down")
    assert (result.outcome, result.status) == (Outcome.FAILED, 503)
    assert result.reason == "HTTP 503 after 2 attempts"
    assert hits["/down"] == 2


@pytest.mark.integration
async def test_pages_over_the_size_limit_are_skipped(
    server: tuple[str, dict[str, int]], fetcher: PageFetcher
) -> None:
    base, _ = server
    result = await fetcher.fetch(f"{base}/big")
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "larger than 1000 bytes")


@pytest.mark.integration
async def test_conditional_request_gets_not_modified(
    server: tuple[str, dict[str, int]], fetcher: PageFetcher
) -> None:
    base, _ = server
    first = await fetcher.fetch(f"{base}/tagged")
    assert first.etag == '"v1"'
    again = await fetcher.fetch(f"{base}/tagged", etag=first.etag)
    assert again.outcome is Outcome.NOT_MODIFIED


@pytest.mark.integration
async def test_crawl_delay_is_honoured_up_to_the_cap(
    server: tuple[str, dict[str, int]], fetcher: PageFetcher
) -> None:
    base, _ = server
    await fetcher.fetch(f"{base}/")
    assert fetcher.robots.delay_for(f"{base}/", 0.0, 0.05) == 0.05
    assert fetcher.robots.delay_for(f"{base}/", 0.0, 10.0) == 1.0


@pytest.mark.integration
async def test_politeness_books_consecutive_slots_a_delay_apart(
    redis_settings: RedisSettings, unique: str
) -> None:
    redis = Redis.from_url(redis_settings.url)
    politeness = HostPoliteness(redis, 1, key_prefix=f"test-{unique}")
    key = f"test-{unique}:host:h.example:next"
    booked = [await politeness._script(keys=[key], args=[60_000]) for _ in range(3)]
    await redis.aclose()
    assert booked[0] == 0
    assert 59_000 <= booked[1] <= 60_000 and 119_000 <= booked[2] <= 120_000


@pytest.mark.unit
def test_retry_after_header_forms() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None
