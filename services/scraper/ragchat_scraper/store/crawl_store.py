"""Reads and writes of crawl state: crawls and their leases, the frontier, claims, the page store.

Every write is idempotent (inserts ignore rows that exist, updates set absolute values), so a
message handled twice or a crawl resumed after a crash leaves the same state.

A running crawl writes through :meth:`CrawlStore.write_group`: the steps of many pages (their
outcomes, the links they found, the page store's rows) and their claims in one transaction of a
few set-based statements (arrays bound once, ``unnest`` in SQL), not a transaction per write, on
a connection its ledger holds for the run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from ragchat_common.events import CrawlMode, CrawlScope, CrawlState, UrlSubmitted
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ragchat_scraper.store.tables import (
    PageStatus,
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


@dataclass(frozen=True)
class FrontierEntry:
    """A URL a crawl found: admitted (``discovered``) or recorded as refused, with the reason."""

    url: str
    depth: int
    status: PageStatus
    reason: str | None = None


@dataclass(frozen=True)
class PageOutcome:
    """What happened to one URL of a crawl."""

    url: str
    status: PageStatus
    reason: str | None = None
    page_id: str | None = None
    final_url: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    content_hash: str | None = None
    rendered: bool = False


@dataclass(frozen=True)
class SavedPage:
    """A page as this crawl saw it, for the page store (validators, hash, outgoing links)."""

    page_id: str
    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str
    links: list[str]


@dataclass(frozen=True)
class CrawlStep:
    """What one step of a crawl writes: the URLs it found, and the outcome of the URL it visited,
    with the page store's row of that page (saved, or ``touched`` when seen unchanged)."""

    frontier: list[FrontierEntry] = field(default_factory=list)
    outcome: PageOutcome | None = None
    saved: SavedPage | None = None
    touched: str | None = None


@dataclass(frozen=True)
class Claim:
    """A URL claiming a page id, then (if it holds the page id) a content hash."""

    url: str
    page_key: str
    hash_key: str


@dataclass(frozen=True)
class ClaimHolders:
    """Which URLs hold a claim's page id and content hash (``None``: not asked)."""

    page: str
    content: str | None


@dataclass(frozen=True)
class GroupResult:
    """What a group of writes found: URLs new to the crawl, and each claim's holders."""

    new_urls: frozenset[str]
    holders: list[ClaimHolders]


_INSERT_FRONTIER = text(
    """
    INSERT INTO scraper.crawl_pages (crawl_id, url, depth, status, reason)
    SELECT CAST(:crawl_id AS uuid), u, d, s, r
    FROM unnest(CAST(:urls AS text[]), CAST(:depths AS int[]), CAST(:statuses AS text[]),
                CAST(:reasons AS text[])) AS t(u, d, s, r)
    ON CONFLICT DO NOTHING
    RETURNING url
    """
)
_INSERT_CLAIMS = text(
    """
    INSERT INTO scraper.crawl_claims (crawl_id, claim, url)
    SELECT CAST(:crawl_id AS uuid), c, u
    FROM unnest(CAST(:claims AS text[]), CAST(:urls AS text[])) WITH ORDINALITY AS t(c, u, n)
    ORDER BY n
    ON CONFLICT DO NOTHING
    """
)
_CLAIM_HOLDERS = text(
    """
    SELECT claim, url FROM scraper.crawl_claims
    WHERE crawl_id = CAST(:crawl_id AS uuid) AND claim = ANY(CAST(:claims AS text[]))
    """
)
_SAVE_PAGES = text(
    """
    INSERT INTO scraper.pages (page_id, kb_id, tenant_id, url, etag, last_modified, content_hash,
                               last_crawl_id, deleted, links, updated_at)
    SELECT p, CAST(:kb_id AS uuid), CAST(:tenant_id AS uuid), u, e, m, h,
           CAST(:crawl_id AS uuid), false, CAST(l AS jsonb), now()
    FROM unnest(CAST(:page_ids AS text[]), CAST(:urls AS text[]), CAST(:etags AS text[]),
                CAST(:modified AS text[]), CAST(:hashes AS text[]), CAST(:links AS text[]))
         AS t(p, u, e, m, h, l)
    ON CONFLICT (page_id) DO UPDATE SET
        kb_id = excluded.kb_id, tenant_id = excluded.tenant_id, url = excluded.url,
        etag = excluded.etag, last_modified = excluded.last_modified,
        content_hash = excluded.content_hash, last_crawl_id = excluded.last_crawl_id,
        deleted = false, links = excluded.links, updated_at = now()
    """
)
_TOUCH_PAGES = text(
    """
    UPDATE scraper.pages SET last_crawl_id = CAST(:crawl_id AS uuid), updated_at = now()
    WHERE page_id = ANY(CAST(:page_ids AS text[]))
    """
)
_RECORD_OUTCOMES = text(
    """
    UPDATE scraper.crawl_pages AS cp SET
        status = t.s, reason = t.r, page_id = t.p, final_url = t.f, http_status = t.hs,
        content_type = t.ct, content_hash = t.h, rendered = t.rd, fetched_at = now()
    FROM unnest(CAST(:urls AS text[]), CAST(:statuses AS text[]), CAST(:reasons AS text[]),
                CAST(:page_ids AS text[]), CAST(:final_urls AS text[]),
                CAST(:http_statuses AS int[]), CAST(:content_types AS text[]),
                CAST(:hashes AS text[]), CAST(:rendered AS boolean[]))
         AS t(u, s, r, p, f, hs, ct, h, rd)
    WHERE cp.crawl_id = CAST(:crawl_id AS uuid) AND cp.url = t.u
    """
)


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

    async def connect(self) -> AsyncConnection:
        """A connection of the pool, held by its caller until it closes it (a crawl's ledger)."""
        return await self.engine.connect()

    async def write_group(
        self,
        conn: AsyncConnection,
        job: CrawlJob,
        steps: Sequence[CrawlStep],
        claims: Sequence[Claim],
    ) -> GroupResult:
        """Write the steps and claims of many pages of a crawl in one transaction on ``conn``.

        A URL that several steps found is inserted once (the first wins, like separate inserts
        in that order); claims are taken in order, the content hash only by a URL that holds its
        page id, so a URL that duplicates a page never holds that page's content.
        """
        frontier: dict[str, FrontierEntry] = {}
        for step in steps:
            for entry in step.frontier:
                frontier.setdefault(entry.url, entry)
        outcomes = list({s.outcome.url: s.outcome for s in steps if s.outcome}.values())
        saved = list({s.saved.page_id: s.saved for s in steps if s.saved}.values())
        touched = sorted({s.touched for s in steps if s.touched})
        crawl = {"crawl_id": job.id}
        async with conn.begin():
            new_urls: frozenset[str] = frozenset()
            if frontier:
                entries = list(frontier.values())
                rows = await conn.execute(
                    _INSERT_FRONTIER,
                    crawl
                    | {
                        "urls": [e.url for e in entries],
                        "depths": [e.depth for e in entries],
                        "statuses": [e.status.value for e in entries],
                        "reasons": [e.reason for e in entries],
                    },
                )
                new_urls = frozenset(row.url for row in rows)
            holders = await self._claim_all(conn, job.id, claims)
            if saved:
                await conn.execute(
                    _SAVE_PAGES,
                    crawl
                    | {
                        "kb_id": job.kb_id,
                        "tenant_id": job.tenant_id,
                        "page_ids": [p.page_id for p in saved],
                        "urls": [p.url for p in saved],
                        "etags": [p.etag for p in saved],
                        "modified": [p.last_modified for p in saved],
                        "hashes": [p.content_hash for p in saved],
                        "links": [json.dumps(p.links) for p in saved],
                    },
                )
            if touched:
                await conn.execute(_TOUCH_PAGES, crawl | {"page_ids": touched})
            if outcomes:
                await conn.execute(
                    _RECORD_OUTCOMES,
                    crawl
                    | {
                        "urls": [o.url for o in outcomes],
                        "statuses": [o.status.value for o in outcomes],
                        "reasons": [o.reason for o in outcomes],
                        "page_ids": [o.page_id for o in outcomes],
                        "final_urls": [o.final_url for o in outcomes],
                        "http_statuses": [o.http_status for o in outcomes],
                        "content_types": [o.content_type for o in outcomes],
                        "hashes": [o.content_hash for o in outcomes],
                        "rendered": [o.rendered for o in outcomes],
                    },
                )
        return GroupResult(new_urls, holders)

    async def _claim_all(
        self, conn: AsyncConnection, crawl_id: UUID, claims: Sequence[Claim]
    ) -> list[ClaimHolders]:
        if not claims:
            return []
        pages = await self._take_claims(conn, crawl_id, [(c.page_key, c.url) for c in claims])
        page_holders = [pages[c.page_key] for c in claims]
        winners = [c for c, holder in zip(claims, page_holders, strict=True) if holder == c.url]
        hashes = await self._take_claims(conn, crawl_id, [(c.hash_key, c.url) for c in winners])
        return [
            ClaimHolders(holder, hashes[c.hash_key] if holder == c.url else None)
            for c, holder in zip(claims, page_holders, strict=True)
        ]

    async def _take_claims(
        self, conn: AsyncConnection, crawl_id: UUID, wanted: list[tuple[str, str]]
    ) -> dict[str, str]:
        """Insert claims (key, url) in order where free; the holder of every key."""
        if not wanted:
            return {}
        keys = [key for key, _ in wanted]
        params = {"crawl_id": crawl_id, "claims": keys}
        await conn.execute(_INSERT_CLAIMS, params | {"urls": [url for _, url in wanted]})
        rows = await conn.execute(_CLAIM_HOLDERS, params)
        return {row.claim: row.url for row in rows}

    async def known_pages(self, kb_id: UUID) -> list[KnownPage]:
        """Every page the store knows of a knowledge base, without their links (see
        :meth:`page_links`): what a crawl of it starts from."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    pages.c.page_id,
                    pages.c.url,
                    pages.c.etag,
                    pages.c.last_modified,
                    pages.c.content_hash,
                    pages.c.deleted,
                ).where(pages.c.kb_id == kb_id)
            )
            return [
                KnownPage(r.page_id, r.url, r.etag, r.last_modified, r.content_hash, r.deleted, [])
                for r in rows
            ]

    async def page_links(self, page_id: str) -> list[str]:
        """The outgoing links a page had when it was last fetched."""
        async with self.engine.connect() as conn:
            links = await conn.scalar(select(pages.c.links).where(pages.c.page_id == page_id))
        return list(links or [])

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
