"""Crawl jobs: submission (stored, then published on ``url.submitted``), progress, cancellation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from faststream.kafka import KafkaBroker
from ragchat_common.events import CrawlMode, CrawlProgress, CrawlScope, CrawlState, UrlSubmitted
from redis.asyncio import Redis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from ragchat_gateway.store.tables import CrawlJob

TERMINAL_STATES = frozenset({CrawlState.DONE, CrawlState.CANCELLED, CrawlState.FAILED})
# A cancel flag outlives any crawl that could still be waiting in the topic.
CANCEL_FLAG_TTL_S = 7 * 24 * 3600


def cancel_key(crawl_id: uuid.UUID) -> str:
    """The Redis key the scraper watches; set, it stops the crawl (ARCHITECTURE contract)."""
    return f"scraper:crawl:{crawl_id}:cancel"


async def submit_crawl(
    sessions: async_sessionmaker[AsyncSession],
    broker: KafkaBroker,
    topic: str,
    *,
    kb_id: uuid.UUID,
    tenant_id: uuid.UUID,
    urls: Sequence[str],
    mode: CrawlMode,
    scope: CrawlScope,
    submitted_by: str,
) -> CrawlJob:
    """Store the job, then publish ``UrlSubmitted`` on ``topic``, keyed by kb id (in order per kb).

    Stored first so progress that arrives at once finds its row; when the publish fails the job
    is marked failed and the error propagates.
    """
    job = CrawlJob(
        kb_id=kb_id,
        tenant_id=tenant_id,
        urls=list(urls),
        mode=mode.value,
        scope=scope.model_dump(mode="json"),
        submitted_by=submitted_by,
        state=CrawlState.QUEUED.value,
    )
    async with sessions() as session, session.begin():
        session.add(job)
    event = UrlSubmitted(
        crawl_id=job.id,
        kb_id=kb_id,
        tenant_id=tenant_id,
        urls=list(urls),
        mode=mode,
        scope=scope,
        submitted_by=submitted_by,
    )
    try:
        await broker.publish(event, topic, key=str(kb_id).encode())
    except Exception:
        async with sessions() as session, session.begin():
            await session.execute(
                update(CrawlJob)
                .where(col(CrawlJob.id) == job.id)
                .values(state=CrawlState.FAILED.value)
            )
        raise
    return await get_crawl(sessions, job.id) or job


async def get_crawl(
    sessions: async_sessionmaker[AsyncSession], crawl_id: uuid.UUID
) -> CrawlJob | None:
    """One crawl job, with its latest progress."""
    async with sessions() as session:
        return await session.get(CrawlJob, crawl_id)


async def list_crawls(
    sessions: async_sessionmaker[AsyncSession], kb_id: uuid.UUID, limit: int, offset: int
) -> list[CrawlJob]:
    """Crawl jobs of a knowledge base, newest first."""
    async with sessions() as session:
        rows = await session.execute(
            select(CrawlJob)
            .where(col(CrawlJob.kb_id) == kb_id)
            .order_by(col(CrawlJob.created_at).desc(), col(CrawlJob.id))
            .limit(limit)
            .offset(offset)
        )
        return list(rows.scalars())


async def last_crawls(
    sessions: async_sessionmaker[AsyncSession], kb_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, CrawlJob]:
    """The newest crawl job of each knowledge base that has one."""
    if not kb_ids:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(CrawlJob)
            .where(col(CrawlJob.kb_id).in_(kb_ids))
            .order_by(col(CrawlJob.kb_id), col(CrawlJob.created_at).desc())
            .distinct(col(CrawlJob.kb_id))
        )
        return {job.kb_id: job for job in rows.scalars()}


async def request_cancel(redis: Redis, crawl_id: uuid.UUID) -> None:
    """Ask the scraper to stop the crawl; it reports ``cancelled`` on ``crawl.progress``."""
    await redis.set(cancel_key(crawl_id), "1", ex=CANCEL_FLAG_TTL_S)


async def cancel_running(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, kb_id: uuid.UUID
) -> list[uuid.UUID]:
    """Cancel every crawl of a knowledge base that has not finished; returns their ids."""
    async with sessions() as session:
        rows = await session.execute(
            select(CrawlJob.id).where(
                col(CrawlJob.kb_id) == kb_id,
                col(CrawlJob.state).not_in([s.value for s in TERMINAL_STATES]),
            )
        )
        running = list(rows.scalars())
    for crawl_id in running:
        await request_cancel(redis, crawl_id)
    return running


async def record_progress(
    sessions: async_sessionmaker[AsyncSession], progress: CrawlProgress
) -> bool:
    """Store the latest counters of a crawl; returns whether a row changed.

    Events older than the stored one (redelivery, reordering) change nothing, and crawls this
    gateway did not submit are ignored.
    """
    async with sessions() as session, session.begin():
        result = await session.execute(
            update(CrawlJob)
            .where(
                col(CrawlJob.id) == progress.crawl_id,
                (col(CrawlJob.progress_at).is_(None))
                | (col(CrawlJob.progress_at) <= progress.occurred_at),
            )
            .values(
                state=progress.state.value,
                discovered=progress.discovered,
                fetched=progress.fetched,
                failed=progress.failed,
                skipped=progress.skipped,
                current_url=(progress.current_url or None) and progress.current_url[:2000],
                pages_per_second=progress.pages_per_second,
                progress_at=progress.occurred_at,
            )
        )
        return bool(getattr(result, "rowcount", 0))
