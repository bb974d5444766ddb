"""Reads and writes of crawl state: crawls and their leases, the frontier, claims, the page store.

Every write is idempotent (inserts ignore rows that exist, updates set absolute values), so a
message handled twice or a crawl resumed after a crash leaves the same state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from ragchat_common.events import CrawlMode, CrawlScope, CrawlState, UrlSubmitted
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_scraper.store.tables import (
    PageStatus,
    crawl_claims,
    crawl_pages,
    crawls,
    page_bodies,
    pages,
)


@dataclass(frozen=True)
class CrawlJob:
    """A crawl as stored: what to crawl and for whom."""

    id: UUID
    kb_id: UUID
    tenant_id: UUID
    mode: CrawlMode
    seeds: list[str]
    scope: CrawlScope
    state: CrawlState

    @classmethod
    def from_row(cls, row: Any) -> CrawlJob:
        """Build from a ``crawls`` row."""
        return cls(
            id=row.id,
            kb_id=row.kb_id,
            tenant_id=row.tenant_id,
            mode=CrawlMode(row.mode),
            seeds=list(row.seeds),
            scope=CrawlScope.model_validate(row.scope),
            state=CrawlState(row.state),
        )


@dataclass(frozen=True)
class KnownPage:
    """What the page store knows of a page from earlier crawls."""

    page_id: str
    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    deleted: bool
    links: list[str]


@dataclass(frozen=True)
class PageRecord:
    """A crawl's record of one URL."""

    url: str
    depth: int
    status: PageStatus
    reason: str | None
    page_id: str | None
    rendered: bool = False


class CrawlStore:
    """The scraper schema, as the crawler uses it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record_submission(
        self, event: UrlSubmitted, seeds: list[str], refused: dict[str, str]
    ) -> bool:
        """Store a submitted crawl and its seed pages; ``False`` when it was stored before.

        ``refused`` maps seed URLs the SSRF guard refused outright to the reason.
        """
        async with self.engine.begin() as conn:
            inserted = await conn.execute(
                insert(crawls)
                .values(
                    id=event.crawl_id,
                    kb_id=event.kb_id,
                    tenant_id=event.tenant_id,
                    mode=event.mode.value,
                    seeds=seeds,
                    scope=event.scope.model_dump(mode="json"),
                    submitted_by=event.submitted_by,
                    state=CrawlState.QUEUED.value,
                )
                .on_conflict_do_nothing()
                .returning(crawls.c.id)
            )
            if inserted.first() is None:
                return False
            for url, reason in refused.items():
                await conn.execute(
                    insert(crawl_pages)
                    .values(
                        crawl_id=event.crawl_id,
                        url=url,
                        depth=0,
                        status=PageStatus.REFUSED_SSRF.value,
                        reason=reason,
                    )
                    .on_conflict_do_nothing()
                )
            return True

    async def fail_crawl(self, crawl_id: UUID, reason: str) -> None:
        """Mark a crawl failed with its reason."""
        await self._finish(crawl_id, CrawlState.FAILED, reason)

    async def finish_crawl(self, crawl_id: UUID, state: CrawlState, reason: str | None) -> None:
        """Mark a crawl done or cancelled and release its lease."""
        await self._finish(crawl_id, state, reason)

    async def _finish(self, crawl_id: UUID, state: CrawlState, reason: str | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(crawls)
                .where(crawls.c.id == crawl_id)
                .values(
                    state=state.value,
                    reason=reason,
                    finished_at=func.now(),
                    lease_owner=None,
                    lease_until=None,
                )
            )

    async def claim_crawl(self, owner: str, lease_s: float) -> CrawlJob | None:
        """Take the oldest queued crawl, or a running one whose runner's lease ran out."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        """
                        UPDATE scraper.crawls SET state = 'running', lease_owner = :owner,
                            lease_until = now() + make_interval(secs => :lease),
                            started_at = coalesce(started_at, now())
                        WHERE id = (
                            SELECT id FROM scraper.crawls
                            WHERE state IN ('queued', 'running')
                              AND (lease_until IS NULL OR lease_until < now())
                            ORDER BY created_at
                            FOR UPDATE SKIP LOCKED
                            LIMIT 1)
                        RETURNING *
                        """
                    ),
                    {"owner": owner, "lease": lease_s},
                )
            ).first()
        return CrawlJob.from_row(row) if row is not None else None

    async def renew_lease(self, crawl_id: UUID, owner: str, lease_s: float) -> bool:
        """Extend our lease; ``False`` if another runner took the crawl over."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(crawls)
                .where(crawls.c.id == crawl_id, crawls.c.lease_owner == owner)
                .values(lease_until=func.now() + timedelta(seconds=lease_s))
                .returning(crawls.c.id)
            )
            return result.first() is not None

    async def release_lease(self, crawl_id: UUID, owner: str) -> None:
        """Give the crawl back at shutdown, so another replica resumes it at once."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(crawls)
                .where(crawls.c.id == crawl_id, crawls.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def crawl_state(self, crawl_id: UUID) -> tuple[CrawlState, str | None] | None:
        """A crawl's state and reason."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(crawls.c.state, crawls.c.reason).where(crawls.c.id == crawl_id)
                )
            ).first()
        return (CrawlState(row.state), row.reason) if row is not None else None

    async def discover(
        self, crawl_id: UUID, urls: list[tuple[str, int]], status: PageStatus, reason: str | None
    ) -> list[str]:
        """Add URLs (with depths) to a crawl; returns those that were new to it."""
        if not urls:
            return []
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(crawl_pages)
                .values(
                    [
                        {
                            "crawl_id": crawl_id,
                            "url": u,
                            "depth": d,
                            "status": status.value,
                            "reason": reason,
                        }
                        for u, d in urls
                    ]
                )
                .on_conflict_do_nothing()
                .returning(crawl_pages.c.url)
            )
            return [row.url for row in result]

    async def records(self, crawl_id: UUID) -> list[PageRecord]:
        """Every URL of a crawl with its status."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    crawl_pages.c.url,
                    crawl_pages.c.depth,
                    crawl_pages.c.status,
                    crawl_pages.c.reason,
                    crawl_pages.c.page_id,
                    crawl_pages.c.rendered,
                )
                .where(crawl_pages.c.crawl_id == crawl_id)
                .order_by(crawl_pages.c.depth, crawl_pages.c.discovered_at)
            )
            return [
                PageRecord(r.url, r.depth, PageStatus(r.status), r.reason, r.page_id, r.rendered)
                for r in rows
            ]

    async def status_counts(self, crawl_id: UUID) -> Counter[PageStatus]:
        """How many URLs of a crawl are in each status."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(crawl_pages.c.status, func.count())
                .where(crawl_pages.c.crawl_id == crawl_id)
                .group_by(crawl_pages.c.status)
            )
            return Counter({PageStatus(status): count for status, count in rows})

    async def record_outcome(
        self,
        crawl_id: UUID,
        url: str,
        status: PageStatus,
        *,
        reason: str | None = None,
        page_id: str | None = None,
        final_url: str | None = None,
        http_status: int | None = None,
        content_type: str | None = None,
        content_hash: str | None = None,
        rendered: bool = False,
    ) -> None:
        """What happened to ``url`` in this crawl."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(crawl_pages)
                .where(crawl_pages.c.crawl_id == crawl_id, crawl_pages.c.url == url)
                .values(
                    status=status.value,
                    reason=reason,
                    page_id=page_id,
                    final_url=final_url,
                    http_status=http_status,
                    content_type=content_type,
                    content_hash=content_hash,
                    rendered=rendered,
                    fetched_at=func.now(),
                )
            )

    async def claim(self, crawl_id: UUID, key: str, url: str) -> str:
        """Claim ``key`` (a content hash or page id) for ``url``; returns the URL holding it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(crawl_claims)
                .values(crawl_id=crawl_id, claim=key, url=url)
                .on_conflict_do_nothing()
            )
            holder = await conn.execute(
                select(crawl_claims.c.url).where(
                    crawl_claims.c.crawl_id == crawl_id, crawl_claims.c.claim == key
                )
            )
            return str(holder.scalar_one())

    async def known_page(self, page_id: str) -> KnownPage | None:
        """The page store's record of ``page_id``."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(pages).where(pages.c.page_id == page_id))).first()
        if row is None:
            return None
        return KnownPage(
            row.page_id,
            row.url,
            row.etag,
            row.last_modified,
            row.content_hash,
            row.deleted,
            list(row.links or []),
        )

    async def live_page_with_hash(self, kb_id: UUID, content_hash: str) -> KnownPage | None:
        """A live page of the knowledge base that has this content, if any."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(pages)
                    .where(
                        pages.c.kb_id == kb_id,
                        pages.c.content_hash == content_hash,
                        pages.c.deleted.is_(False),
                    )
                    .limit(1)
                )
            ).first()
        if row is None:
            return None
        return KnownPage(
            row.page_id,
            row.url,
            row.etag,
            row.last_modified,
            row.content_hash,
            row.deleted,
            list(row.links or []),
        )

    async def save_page(
        self,
        job: CrawlJob,
        page_id: str,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        content_hash: str,
        links: list[str],
    ) -> None:
        """Remember a page as seen by this crawl (validators, hash, outgoing links)."""
        values = {
            "kb_id": job.kb_id,
            "tenant_id": job.tenant_id,
            "url": url,
            "etag": etag,
            "last_modified": last_modified,
            "content_hash": content_hash,
            "last_crawl_id": job.id,
            "deleted": False,
            "links": links,
            "updated_at": func.now(),
        }
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(pages)
                .values(page_id=page_id, **values)
                .on_conflict_do_update(index_elements=[pages.c.page_id], set_=values)
            )

    async def touch_page(self, job: CrawlJob, page_id: str) -> None:
        """Mark a page seen (unchanged) by this crawl."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(pages)
                .where(pages.c.page_id == page_id)
                .values(last_crawl_id=job.id, updated_at=func.now())
            )

    async def mark_deleted(self, page_id: str, crawl_id: UUID) -> None:
        """Record that a page disappeared."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(pages)
                .where(pages.c.page_id == page_id)
                .values(deleted=True, last_crawl_id=crawl_id, updated_at=func.now())
            )

    async def pages_not_seen_by(self, job: CrawlJob) -> list[KnownPage]:
        """Live pages of the crawl's knowledge base that this crawl did not see."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(pages).where(
                    pages.c.kb_id == job.kb_id,
                    pages.c.deleted.is_(False),
                    pages.c.last_crawl_id != job.id,
                )
            )
            return [
                KnownPage(
                    r.page_id,
                    r.url,
                    r.etag,
                    r.last_modified,
                    r.content_hash,
                    r.deleted,
                    list(r.links or []),
                )
                for r in rows
            ]

    async def store_body(self, page_id: str, content_hash: str, body: dict[str, Any]) -> None:
        """Keep a parsed body too large for one message, once per page and content."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(page_bodies)
                .values(page_id=page_id, content_hash=content_hash, body=body)
                .on_conflict_do_nothing()
            )

    async def body(self, page_id: str, content_hash: str) -> dict[str, Any] | None:
        """A stored body, by page id and content hash."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(page_bodies.c.body).where(
                        page_bodies.c.page_id == page_id,
                        page_bodies.c.content_hash == content_hash,
                    )
                )
            ).first()
        return dict(row.body) if row is not None else None
