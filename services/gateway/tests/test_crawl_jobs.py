"""Crawl jobs on a real PostgreSQL (the gateway's migrations), Kafka and Redis: a submission is
stored and published on ``url.submitted`` keyed by its kb; progress updates the stored counters
and late, older events change nothing; crawls of other gateways are ignored; deleting a kb cancels
only its unfinished crawls through the scraper's Redis flag."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from ragchat_common import db
from ragchat_common.broker import create_broker
from ragchat_common.events import CrawlMode, CrawlProgress, CrawlScope, CrawlState, utc_now
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_gateway.domain.crawl_jobs import (
    cancel_key,
    cancel_running,
    get_crawl,
    record_progress,
    submit_crawl,
)
from ragchat_gateway.store import MIGRATIONS
from ragchat_gateway.store.tables import KnowledgeBase
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.harness.kafka import TopicReader

pytestmark = pytest.mark.integration

TENANT = uuid4()


@pytest.fixture
async def sessions(
    scratch_database: PostgresSettings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await db.upgrade(db.alembic_config(MIGRATIONS.directory, scratch_database, MIGRATIONS.schema))
    engine = db.create_engine(scratch_database)
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def topic(kafka: KafkaSettings, unique: str) -> str:
    name = f"test.{unique}.url.submitted"
    await ensure_topics(kafka.bootstrap_servers, (TopicSpec(name, 3),))
    return name


@pytest.fixture
async def broker(kafka: KafkaSettings) -> AsyncIterator[KafkaBroker]:
    running = create_broker("gateway-test", kafka, CollectorRegistry())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def redis(redis_settings: RedisSettings) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_settings.url)
    try:
        yield client
    finally:
        await client.aclose()


async def new_kb(sessions: async_sessionmaker[AsyncSession]) -> UUID:
    kb = KnowledgeBase(tenant_id=TENANT, name=f"kb-{uuid4().hex[:6]}")
    async with sessions() as session, session.begin():
        session.add(kb)
    return kb.id


async def submit(
    sessions: async_sessionmaker[AsyncSession], broker: KafkaBroker, topic: str, kb_id: UUID
) -> UUID:
    job = await submit_crawl(
        sessions,
        broker,
        topic,
        kb_id=kb_id,
        tenant_id=TENANT,
        urls=["https://docs.example.com/"],
        mode=CrawlMode.SITEMAP,
        scope=CrawlScope(max_pages=20, include_patterns=["^https://docs"]),
        submitted_by="user-1",
    )
    return job.id


def progress(
    crawl_id: UUID, kb_id: UUID, fetched: int, state: CrawlState, **kw: object
) -> CrawlProgress:
    return CrawlProgress(
        crawl_id=crawl_id, kb_id=kb_id, tenant_id=TENANT, state=state, fetched=fetched, **kw
    )


async def test_a_submission_is_stored_then_published_keyed_by_kb(
    sessions: async_sessionmaker[AsyncSession],
    broker: KafkaBroker,
    topic: str,
    read_topic: TopicReader,
) -> None:
    kb_id = await new_kb(sessions)
    crawl_id = await submit(sessions, broker, topic, kb_id)

    stored = await get_crawl(sessions, crawl_id)
    assert stored is not None and stored.state == "queued" and stored.kb_id == kb_id
    assert stored.scope["max_pages"] == 20
    records = await read_topic(topic, until=lambda records: len(records) >= 1)
    assert records[0].key == str(kb_id).encode()
    event = json.loads(records[0].value)
    assert (event["crawl_id"], event["mode"], event["urls"]) == (
        str(crawl_id),
        "sitemap",
        ["https://docs.example.com/"],
    )
    assert event["scope"]["include_patterns"] == ["^https://docs"]


async def test_progress_is_stored_and_older_events_change_nothing(
    sessions: async_sessionmaker[AsyncSession], broker: KafkaBroker, topic: str
) -> None:
    kb_id = await new_kb(sessions)
    crawl_id = await submit(sessions, broker, topic, kb_id)
    now = utc_now()
    newer = progress(crawl_id, kb_id, 9, CrawlState.DONE, occurred_at=now, discovered=12)
    older = progress(crawl_id, kb_id, 4, CrawlState.RUNNING, occurred_at=now - timedelta(seconds=5))

    assert await record_progress(sessions, newer)
    assert not await record_progress(sessions, older)

    stored = await get_crawl(sessions, crawl_id)
    assert stored is not None
    assert (stored.state, stored.fetched, stored.discovered) == ("done", 9, 12)
    assert not await record_progress(sessions, progress(uuid4(), kb_id, 1, CrawlState.RUNNING))


async def test_cancel_running_flags_only_unfinished_crawls_of_the_kb(
    sessions: async_sessionmaker[AsyncSession], broker: KafkaBroker, topic: str, redis: Redis
) -> None:
    kb_id = await new_kb(sessions)
    other_kb = await new_kb(sessions)
    running = await submit(sessions, broker, topic, kb_id)
    queued = await submit(sessions, broker, topic, kb_id)
    finished = await submit(sessions, broker, topic, kb_id)
    elsewhere = await submit(sessions, broker, topic, other_kb)
    await record_progress(sessions, progress(running, kb_id, 3, CrawlState.RUNNING))
    await record_progress(sessions, progress(finished, kb_id, 5, CrawlState.DONE))

    cancelled = await cancel_running(sessions, redis, kb_id)

    assert set(cancelled) == {running, queued}
    for crawl_id, flagged in ((running, 1), (queued, 1), (finished, 0), (elsewhere, 0)):
        assert await redis.exists(cancel_key(crawl_id)) == flagged
    assert await redis.ttl(cancel_key(running)) > 0
