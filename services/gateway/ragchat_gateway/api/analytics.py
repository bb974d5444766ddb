"""Analytics endpoints: conversations per day, top questions and knowledge gaps grouped by
meaning, feedback, latency and crawl counters.

Each answers for the knowledge bases the caller reads (optionally one of them, ``?kb_id=``) over
the last ``days`` days. A turn asked over several knowledge bases counts only for a caller who
reads all of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    Context,
    Principal,
    error_responses,
    not_found,
    readable_kb_ids,
    require,
)
from ragchat_gateway.domain.analytics import (
    AnalyticsService,
    GroupedQuestions,
    Grouping,
    analytics_service,
    window_start,
)
from ragchat_gateway.store.analytics import AnalyticsScope, LatencyFigures

router = APIRouter(
    prefix="/api/v1/analytics",
    tags=["analytics"],
    responses={**COMMON_ERRORS, **error_responses(404)},
)


class DayPoint(BaseModel):
    """Conversations and turns (questions answered, declined or stopped) of one day;
    ``stopped`` counts the turns whose answer the client stopped mid-stream."""

    day: date
    conversations: int = Field(ge=0)
    turns: int = Field(ge=0)
    stopped: int = Field(ge=0)


class ConversationsPerDay(BaseModel):
    """One point per day of the window, oldest first; days without chats count zero."""

    points: list[DayPoint]


class QuestionGroupOut(BaseModel):
    """Questions that mean the same thing."""

    label: str = Field(examples=["How do I reset my password?"])
    count: int = Field(ge=1, examples=[12])
    examples: list[str] = Field(
        examples=[["How do I reset my password?", "I forgot my password, what now?"]]
    )


class QuestionGroups(BaseModel):
    """Largest groups first. ``grouping`` is ``text`` when the retriever could not embed the
    questions and they were grouped by their normalised text instead of their meaning."""

    grouping: Grouping
    groups: list[QuestionGroupOut]


class FeedbackItem(BaseModel):
    """One rating of an answer."""

    message_id: str
    conversation_id: UUID
    rating: str = Field(examples=["down"])
    comment: str
    created_at: datetime
    question: str | None = Field(description="The question answered, when known")


class FeedbackSummary(BaseModel):
    """Thumbs up and down in the window; ``ratio`` is up / (up + down), null without ratings."""

    up: int = Field(ge=0)
    down: int = Field(ge=0)
    ratio: float | None = Field(ge=0.0, le=1.0)
    recent: list[FeedbackItem]


class LatencyDay(BaseModel):
    """Latency percentiles of one day's turns."""

    day: date
    turns: int = Field(ge=0)
    p50_ms: float
    p95_ms: float
    first_token_p50_ms: float
    first_token_p95_ms: float


class LatencyReport(BaseModel):
    """Answer latency (total and to the first token) over the window and per day, in ms.

    The total is of answers sent to the end; turns the client stopped count only for the first
    token (when one was sent)."""

    turns: int = Field(ge=0)
    p50_ms: float
    p95_ms: float
    first_token_p50_ms: float
    first_token_p95_ms: float
    by_day: list[LatencyDay]


class KbCrawls(BaseModel):
    """Crawls of one knowledge base seen in the window."""

    kb_id: UUID
    crawls: int = Field(ge=0)
    running: int = Field(ge=0)
    pages_fetched: int = Field(ge=0)
    pages_failed: int = Field(ge=0)
    last_state: str = Field(examples=["done"])
    last_crawl_at: datetime


class CrawlReport(BaseModel):
    """Crawl counters per knowledge base."""

    knowledge_bases: list[KbCrawls]


def get_analytics(context: Context) -> AnalyticsService:
    """Dependency: the analytics service over the gateway's database and the retriever."""
    return analytics_service(context.sessions, context.retriever_peer, context.settings.analytics)


Analytics = Annotated[AnalyticsService, Depends(get_analytics)]


async def analytics_scope(
    context: Context,
    principal: Annotated[Principal, Depends(require("analytics.read"))],
    kb_id: Annotated[
        UUID | None, Query(description="Only this knowledge base (one the caller reads)")
    ] = None,
    days: Annotated[int, Query(ge=1, le=365, description="Window in days, ending today")] = 30,
) -> AnalyticsScope:
    """Dependency: what the caller may see: the tenant's kbs it reads, within the window."""
    readable = {UUID(kb) for kb in await readable_kb_ids(context, principal)}
    if kb_id is not None and kb_id not in readable:
        raise not_found("knowledge base")
    return AnalyticsScope(
        tenant_id=UUID(principal.tenant_id),
        readable_kb_ids=frozenset(readable),
        since=window_start(days),
        kb_id=kb_id,
    )


Scope = Annotated[AnalyticsScope, Depends(analytics_scope)]
GroupLimit = Annotated[int, Query(ge=1, le=100, description="Groups returned")]


@router.get("/conversations-per-day")
async def conversations_per_day(scope: Scope, analytics: Analytics) -> ConversationsPerDay:
    """Conversations and turns per day."""
    counted = {d.day: d for d in await analytics.store.conversations_per_day(scope)}
    today = datetime.now(UTC).date()
    points = []
    day = scope.since
    while day <= max(today, scope.since):
        found = counted.get(day)
        points.append(
            DayPoint(
                day=day,
                conversations=found.conversations if found else 0,
                turns=found.turns if found else 0,
                stopped=found.stopped if found else 0,
            )
        )
        day += timedelta(days=1)
    return ConversationsPerDay(points=points)


def _groups_out(grouped: GroupedQuestions) -> QuestionGroups:
    return QuestionGroups(
        grouping=grouped.grouping,
        groups=[
            QuestionGroupOut(label=g.label, count=g.count, examples=g.examples)
            for g in grouped.groups
        ],
    )


@router.get("/top-questions")
async def top_questions(
    scope: Scope, analytics: Analytics, limit: GroupLimit = 10
) -> QuestionGroups:
    """The most asked questions, grouped by meaning."""
    grouped = await analytics.grouped_questions(scope, declined_only=False, limit=limit)
    return _groups_out(grouped)


@router.get("/knowledge-gaps")
async def knowledge_gaps(
    scope: Scope, analytics: Analytics, limit: GroupLimit = 10
) -> QuestionGroups:
    """Questions the knowledge bases had no answer to, grouped by meaning: what to add."""
    grouped = await analytics.grouped_questions(scope, declined_only=True, limit=limit)
    return _groups_out(grouped)


@router.get("/feedback")
async def feedback(
    scope: Scope,
    analytics: Analytics,
    recent: Annotated[int, Query(ge=0, le=100, description="Newest ratings listed")] = 20,
) -> FeedbackSummary:
    """Thumbs up and down on answers, and the newest ratings with their comments."""
    totals = await analytics.store.feedback_totals(scope, recent)
    rated = totals.up + totals.down
    return FeedbackSummary(
        up=totals.up,
        down=totals.down,
        ratio=totals.up / rated if rated else None,
        recent=[
            FeedbackItem(
                message_id=e.message_id,
                conversation_id=e.conversation_id,
                rating=e.rating,
                comment=e.comment,
                created_at=e.created_at,
                question=e.question,
            )
            for e in totals.recent
        ],
    )


def _latency_day(day: date, figures: LatencyFigures) -> LatencyDay:
    return LatencyDay(
        day=day,
        turns=figures.turns,
        p50_ms=figures.p50_ms,
        p95_ms=figures.p95_ms,
        first_token_p50_ms=figures.first_token_p50_ms,
        first_token_p95_ms=figures.first_token_p95_ms,
    )


@router.get("/latency")
async def latency(scope: Scope, analytics: Analytics) -> LatencyReport:
    """p50 and p95 of the answer time and the time to the first token, overall and per day."""
    overall, by_day = await analytics.store.latency(scope)
    return LatencyReport(
        turns=overall.turns,
        p50_ms=overall.p50_ms,
        p95_ms=overall.p95_ms,
        first_token_p50_ms=overall.first_token_p50_ms,
        first_token_p95_ms=overall.first_token_p95_ms,
        by_day=[_latency_day(d.day, d.figures) for d in by_day],
    )


@router.get("/crawls")
async def crawls(scope: Scope, analytics: Analytics) -> CrawlReport:
    """Crawls per knowledge base: how many, pages fetched and failed, the last state."""
    stats = await analytics.store.crawl_stats(scope)
    return CrawlReport(
        knowledge_bases=[
            KbCrawls(
                kb_id=s.kb_id,
                crawls=s.crawls,
                running=s.running,
                pages_fetched=s.pages_fetched,
                pages_failed=s.pages_failed,
                last_state=s.last_state,
                last_crawl_at=s.last_crawl_at,
            )
            for s in stats
        ]
    )
