"""Crawl jobs: submit (publishes ``url.submitted``), list, get with the latest progress, cancel."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from ragchat_common.events import CrawlMode, CrawlScope, CrawlState
from ragchat_common.logs import get_logger

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    ApiError,
    Context,
    CurrentPrincipal,
    PlainText,
    Principal,
    authorize,
    error_responses,
    not_found,
    record_audit,
    require_kb,
)
from ragchat_gateway.domain.crawl_jobs import (
    TERMINAL_STATES,
    get_crawl,
    list_crawls,
    request_cancel,
    submit_crawl,
)
from ragchat_gateway.store.tables import CrawlJob

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["crawls"], responses=COMMON_ERRORS)

MAX_URLS = 1000


class CrawlRequest(BaseModel):
    """Where to start, how to discover pages, and the crawl's limits."""

    model_config = ConfigDict(extra="forbid")

    urls: list[PlainText] = Field(
        min_length=1, max_length=MAX_URLS, examples=[["https://docs.example.com/"]]
    )
    mode: CrawlMode = CrawlMode.RECURSIVE
    scope: CrawlScope = Field(default_factory=CrawlScope)

    @field_validator("urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url)
            if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url[:200]!r}")
        return urls

    @field_validator("scope")
    @classmethod
    def _patterns_compile(cls, scope: CrawlScope) -> CrawlScope:
        for pattern in [*scope.include_patterns, *scope.exclude_patterns]:
            if "\x00" in pattern:
                raise ValueError("patterns must not contain NUL characters")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from exc
        return scope


class CrawlProgressOut(BaseModel):
    """The latest counters the scraper reported."""

    discovered: int
    fetched: int
    failed: int
    skipped: int
    current_url: str | None
    pages_per_second: float
    state: str
    updated_at: datetime | None
    recent_failures: list[str] = Field(
        default_factory=list, description="Not reported by the scraper yet; always empty"
    )


class CrawlOut(BaseModel):
    """A crawl job."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b7e2f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                    "kb_id": "5f0c8a3e-2b1d-4c6e-9f7a-1b2c3d4e5f60",
                    "state": "running",
                    "urls": ["https://docs.example.com/"],
                    "mode": "recursive",
                    "scope": {
                        "include_patterns": ["^https://docs\\.example\\.com/"],
                        "exclude_patterns": [],
                        "max_depth": 3,
                        "max_pages": 500,
                        "render_js": False,
                    },
                    "submitted_by": "7d1e9c2a-3b4f-4a5d-8e6f-7a8b9c0d1e2f",
                    "created_at": "2026-11-21T10:00:00Z",
                    "progress": {
                        "discovered": 120,
                        "fetched": 57,
                        "failed": 2,
                        "skipped": 5,
                        "current_url": "https://docs.example.com/guide/install",
                        "pages_per_second": 3.2,
                        "state": "running",
                        "updated_at": "2026-11-21T10:00:19Z",
                        "recent_failures": [],
                    },
                }
            ]
        }
    )

    id: str
    kb_id: str
    state: str
    urls: list[str]
    mode: str
    scope: CrawlScope
    submitted_by: str
    created_at: datetime
    progress: CrawlProgressOut


class CrawlList(BaseModel):
    """Crawl jobs, newest first."""

    items: list[CrawlOut]


def _crawl_out(job: CrawlJob) -> CrawlOut:
    return CrawlOut(
        id=str(job.id),
        kb_id=str(job.kb_id),
        state=job.state,
        urls=job.urls,
        mode=job.mode,
        scope=CrawlScope.model_validate(job.scope),
        submitted_by=job.submitted_by,
        created_at=job.created_at,
        progress=CrawlProgressOut(
            discovered=job.discovered,
            fetched=job.fetched,
            failed=job.failed,
            skipped=job.skipped,
            current_url=job.current_url,
            pages_per_second=job.pages_per_second,
            state=job.state,
            updated_at=job.progress_at,
        ),
    )


@router.post(
    "/knowledge-bases/{kb_id}/crawls",
    response_model=CrawlOut,
    status_code=201,
    responses=error_responses(404),
)
async def submit_crawl_job(
    kb_id: uuid.UUID,
    body: CrawlRequest,
    request: Request,
    context: Context,
    principal: Annotated[Principal, Depends(require_kb("crawl.submit"))],
) -> CrawlOut:
    """Start a crawl of the knowledge base; progress follows on ``GET /crawls/{id}``."""
    try:
        job = await submit_crawl(
            context.sessions,
            context.broker,
            context.settings.url_submitted_topic,
            kb_id=kb_id,
            tenant_id=uuid.UUID(principal.tenant_id),
            urls=body.urls,
            mode=body.mode,
            scope=body.scope,
            submitted_by=principal.subject,
        )
    except KafkaError as exc:
        log.warning("crawl not queued", kb_id=str(kb_id), error=repr(exc))
        raise ApiError(503, "unavailable", "the crawl could not be queued; retry later") from exc
    await record_audit(
        context,
        request,
        principal,
        "crawl.submit",
        ("kb", str(kb_id)),
        {"crawl_id": str(job.id), "urls": body.urls[:20], "mode": body.mode.value},
    )
    return _crawl_out(job)


@router.get(
    "/knowledge-bases/{kb_id}/crawls", response_model=CrawlList, responses=error_responses(404)
)
async def list_crawl_jobs(
    kb_id: uuid.UUID,
    context: Context,
    principal: Annotated[Principal, Depends(require_kb("crawl.read"))],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> CrawlList:
    """Crawl jobs of a knowledge base, newest first."""
    jobs = await list_crawls(context.sessions, kb_id, limit, offset)
    return CrawlList(items=[_crawl_out(job) for job in jobs])


async def _visible_crawl(
    context: Context, principal: Principal, crawl_id: uuid.UUID, action: str
) -> CrawlJob:
    """The crawl if it is of the caller's tenant (404 otherwise) and auth allows ``action``."""
    job = await get_crawl(context.sessions, crawl_id)
    if job is None or str(job.tenant_id) != principal.tenant_id:
        raise not_found("crawl")
    await authorize(context, principal, action, str(job.kb_id))
    return job


@router.get("/crawls/{crawl_id}", response_model=CrawlOut, responses=error_responses(404))
async def get_crawl_job(
    crawl_id: uuid.UUID, context: Context, principal: CurrentPrincipal
) -> CrawlOut:
    """A crawl job with the latest progress."""
    return _crawl_out(await _visible_crawl(context, principal, crawl_id, "crawl.read"))


@router.post(
    "/crawls/{crawl_id}/cancel", response_model=CrawlOut, responses=error_responses(404, 409)
)
async def cancel_crawl_job(
    crawl_id: uuid.UUID, context: Context, principal: CurrentPrincipal
) -> CrawlOut:
    """Ask the scraper to stop the crawl; its state turns ``cancelled`` when it has stopped."""
    job = await _visible_crawl(context, principal, crawl_id, "crawl.cancel")
    if CrawlState(job.state) in TERMINAL_STATES:
        raise ApiError(409, "conflict", f"the crawl is already {job.state}")
    await request_cancel(context.redis, crawl_id)
    return _crawl_out(job)
