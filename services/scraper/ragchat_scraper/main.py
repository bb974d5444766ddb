"""Entry point of the scraper: crawls submitted sites and publishes parsed pages."""

from __future__ import annotations

import os
import socket

import httpx
from fastapi import FastAPI
from ragchat_common.consumer import subscribe_reliably
from ragchat_common.events import UrlSubmitted
from ragchat_common.runtime import ServiceRuntime, serve
from ragchat_common.ssrf import guarded_client
from ragchat_common.topics import TopicSpec

from ragchat_scraper.api.bodies import bodies_router
from ragchat_scraper.crawler.fetcher import FetchLimits, PageFetcher
from ragchat_scraper.crawler.parsing import ParserPool
from ragchat_scraper.crawler.politeness import HostPoliteness
from ragchat_scraper.crawler.publisher import PagePublisher
from ragchat_scraper.crawler.renderer import JsRenderer
from ragchat_scraper.crawler.runner import CrawlTools, RunSettings
from ragchat_scraper.crawler.scheduler import CrawlScheduler
from ragchat_scraper.handlers.submissions import SubmissionHandler
from ragchat_scraper.settings import ScraperSettings
from ragchat_scraper.store import MIGRATIONS
from ragchat_scraper.store.crawl_store import CrawlStore


def create_app(settings: ScraperSettings) -> FastAPI:
    """The scraper process: page store, politeness state in Redis, broker, crawl scheduler."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    engine = runtime.use_postgres(settings.postgres, MIGRATIONS)
    redis = runtime.use_redis(settings.redis)
    broker = runtime.use_kafka(settings.kafka)

    policy = settings.ssrf_policy()
    timeout = httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s)
    # Redirects are followed by the fetcher, hop by hop (robots rules and SSRF on each).
    pages_client = guarded_client(policy, timeout=timeout, follow_redirects=False)
    # The browser's own requests (scripts, XHR): httpx follows their redirects, each hop guarded.
    render_client = guarded_client(policy, timeout=timeout, max_redirects=settings.max_redirects)
    store = CrawlStore(engine)
    publisher = PagePublisher(
        broker,
        store,
        settings.public_url,
        settings.max_message_bytes,
        page_topic=settings.pages_topic,
        progress_topic=settings.progress_topic,
    )
    renderer = JsRenderer(
        render_client,
        settings.chromium_path,
        settings.user_agent,
        settings.render_timeout_s,
        settings.render_concurrency,
    )
    parsers = ParserPool(settings.parse_processes)
    politeness = HostPoliteness(redis, settings.per_host_concurrency)
    limits = FetchLimits(
        user_agent=settings.user_agent,
        max_bytes=settings.max_page_bytes,
        max_redirects=settings.max_redirects,
        max_attempts=settings.max_attempts,
        max_retry_wait_s=settings.max_retry_wait_s,
        default_delay_s=settings.per_host_delay_s,
        max_crawl_delay_s=settings.max_crawl_delay_s,
    )
    tools = CrawlTools(
        store=store,
        redis=redis,
        publisher=publisher,
        renderer=renderer,
        parsers=parsers,
        policy=policy,
        new_fetcher=lambda: PageFetcher(pages_client, politeness, limits, settings.robots_agent),
        settings=RunSettings(
            owner=f"{socket.gethostname()}:{os.getpid()}",
            fetchers=settings.fetchers_per_crawl,
            render_js_auto=settings.render_js_auto,
            js_min_text_chars=settings.js_min_text_chars,
            progress_interval_s=settings.progress_interval_s,
            lease_s=settings.lease_s,
        ),
    )
    scheduler = CrawlScheduler(tools, settings.crawl_slots)
    subscribe_reliably(
        broker,
        TopicSpec(settings.input_topic, 1),
        settings.consumer_group,
        UrlSubmitted,
        SubmissionHandler(store, publisher, policy, scheduler.wake),
        runtime.registry,
    )

    async def start_crawling() -> None:
        await parsers.start()
        await scheduler.start()

    async def stop_crawling() -> None:
        await scheduler.stop()
        await parsers.stop()
        await renderer.stop()
        await pages_client.aclose()
        await render_client.aclose()

    runtime.add_resource("crawler", start=start_crawling, stop=stop_crawling)
    app = runtime.http_app("ragchat scraper")
    app.include_router(bodies_router(store))
    return app


def run() -> None:
    """Start the scraper (console script ``ragchat-scraper``)."""
    settings = ScraperSettings()
    serve(create_app(settings))
