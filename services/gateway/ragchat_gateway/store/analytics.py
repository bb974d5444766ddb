"""The analytics read model: answered turns, feedback and crawl counters, per tenant and kb.

A turn the client stopped mid-answer is kept too, marked ``stopped``: it counts as a question
asked, but its total time (the moment of the stop) stays out of the answer-time percentiles.

Filled from ``chat.turn`` and ``crawl.progress`` (at-least-once, so every write is an idempotent
upsert keyed by the event's id) and from the feedback endpoint. Every read takes an
:class:`AnalyticsScope`: a turn is visible only when ALL of its knowledge bases are readable by the
caller, so a question asked over kbs A and B never shows to someone who may read only A.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from ragchat_common.events import ChatTurn, CrawlProgress
from sqlalchemy import (
    REAL,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    and_,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragchat_gateway.store.tables import metadata

turns = Table(
    "analytics_turns",
    metadata,
    Column("turn_id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    Column("tenant_id", Uuid, nullable=False),
    Column("kb_ids", ARRAY(Uuid), nullable=False),
    Column("principal", String(200), nullable=False),
    Column("question", Text, nullable=False),
    # The question lower-cased without punctuation: exact repeats share it and its embedding.
    Column("question_key", Text, nullable=False),
    Column("question_embedding", ARRAY(REAL), nullable=True),
    Column("declined", Boolean, nullable=False),
    # The client stopped the answer mid-stream: answer_chars and total_ms are of the part sent.
    Column("stopped", Boolean, nullable=False, server_default="false"),
    Column("answer_chars", Integer, nullable=False),
    Column("cited_urls", ARRAY(Text), nullable=False),
    Column("retrieval_ms", Float, nullable=False),
    Column("first_token_ms", Float, nullable=False),
    Column("total_ms", Float, nullable=False),
    Column("provider", String(100), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Index("ix_analytics_turns_tenant_day", "tenant_id", "day"),
    Index("ix_analytics_turns_kb_ids", "kb_ids", postgresql_using="gin"),
    Index("ix_analytics_turns_conversation", "conversation_id"),
)

feedback = Table(
    "analytics_feedback",
    metadata,
    # The assistant message (turn) rated; rating it again replaces the earlier rating.
    Column("message_id", String(100), primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("conversation_id", Uuid, nullable=False),
    Column("rating", String(10), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_analytics_feedback_tenant_created", "tenant_id", "created_at"),
)

crawls = Table(
    "analytics_crawls",
    metadata,
    Column("crawl_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("kb_id", Uuid, nullable=False),
    Column("state", String(20), nullable=False),
    Column("discovered", Integer, nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_analytics_crawls_tenant_kb", "tenant_id", "kb_id"),
)


@dataclass(frozen=True)
class AnalyticsScope:
    """What one caller may see: a tenant, the kbs they read, an optional kb and a time window."""

    tenant_id: UUID
    readable_kb_ids: frozenset[UUID]
    since: date
    kb_id: UUID | None = None


@dataclass(frozen=True)
class FeedbackRecord:
    """A thumbs up or down on one answer (recorded by the feedback endpoint)."""

    tenant_id: UUID
    conversation_id: UUID
    message_id: str
    rating: str
    comment: str = ""


@dataclass(frozen=True)
class DayCount:
    """Conversations and turns of one day, and how many of the turns the client stopped."""

    day: date
    conversations: int
    turns: int
    stopped: int


@dataclass(frozen=True)
class QuestionCount:
    """One distinct question (by normalised text), how often it was asked, and its embedding."""

    key: str
    question: str
    count: int
    embedding: list[float] | None


@dataclass(frozen=True)
class FeedbackEntry:
    """One rating as listed in the recent feedback."""

    message_id: str
    conversation_id: UUID
    rating: str
    comment: str
    created_at: datetime
    question: str | None


@dataclass(frozen=True)
class FeedbackTotals:
    """Counts of ratings and the most recent ones."""

    up: int
    down: int
    recent: list[FeedbackEntry]


@dataclass(frozen=True)
class LatencyFigures:
    """Percentiles of total and first-token latency over some turns."""

    turns: int
    p50_ms: float
    p95_ms: float
    first_token_p50_ms: float
    first_token_p95_ms: float


@dataclass(frozen=True)
class DayLatency:
    """Latency percentiles of one day."""

    day: date
    figures: LatencyFigures


@dataclass(frozen=True)
class KbCrawlStats:
    """Crawl counters of one knowledge base."""

    kb_id: UUID
    crawls: int
    running: int
    pages_fetched: int
    pages_failed: int
    last_state: str
    last_crawl_at: datetime


def _visible_turns(scope: AnalyticsScope) -> ColumnElement[bool]:
    """Turns of the scope's tenant and window whose every kb the caller reads."""
    readable = cast(sorted(scope.readable_kb_ids), ARRAY(Uuid))
    condition = and_(
        turns.c.tenant_id == scope.tenant_id,
        turns.c.day >= scope.since,
        func.cardinality(turns.c.kb_ids) > 0,
        turns.c.kb_ids.contained_by(readable),
    )
    if scope.kb_id is not None:
        condition = and_(condition, turns.c.kb_ids.contains(cast([scope.kb_id], ARRAY(Uuid))))
    return condition


def _percentiles(column: Any, where: ColumnElement[bool] | None = None) -> list[Any]:
    """p50 and p95 of ``column`` (continuous, as PostgreSQL's ``percentile_cont``)."""
    values = []
    for fraction in (0.5, 0.95):
        aggregate = func.percentile_cont(fraction).within_group(column)
        values.append(aggregate.filter(where) if where is not None else aggregate)
    return values


def _latency_columns() -> list[Any]:
    """Turn count, then total and first-token p50/p95: the total only of turns answered to the
    end (a stopped turn's is when the client stopped), the first token wherever one was sent."""
    return [
        func.count(),
        *_percentiles(turns.c.total_ms, turns.c.stopped.is_(False)),
        *_percentiles(turns.c.first_token_ms, turns.c.first_token_ms > 0),
    ]


def _figures(row: Sequence[Any]) -> LatencyFigures:
    count, p50, p95, ft50, ft95 = row
    return LatencyFigures(
        turns=int(count),
        p50_ms=float(p50 or 0.0),
        p95_ms=float(p95 or 0.0),
        first_token_p50_ms=float(ft50 or 0.0),
        first_token_p95_ms=float(ft95 or 0.0),
    )


class AnalyticsStore:
    """Writes and reads of the analytics tables."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def record_turn(
        self, turn: ChatTurn, question_key: str, embedding: list[float] | None
    ) -> None:
        """Add one turn; a redelivered turn changes nothing except filling a missing embedding."""
        values = {
            "turn_id": turn.turn_id,
            "conversation_id": turn.conversation_id,
            "tenant_id": turn.tenant_id,
            "kb_ids": list(turn.kb_ids),
            "principal": turn.principal[:200],
            "question": turn.question,
            "question_key": question_key,
            "question_embedding": embedding,
            "declined": turn.declined,
            "stopped": turn.stopped,
            "answer_chars": turn.answer_chars,
            "cited_urls": list(turn.cited_urls),
            "retrieval_ms": turn.retrieval_ms,
            "first_token_ms": turn.first_token_ms,
            "total_ms": turn.total_ms,
            "provider": turn.provider[:100],
            "occurred_at": turn.occurred_at,
            "day": turn.occurred_at.date(),
        }
        statement = insert(turns).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[turns.c.turn_id],
            set_={
                "question_embedding": func.coalesce(
                    turns.c.question_embedding, statement.excluded.question_embedding
                )
            },
        )
        async with self.sessions() as conn, conn.begin():
            await conn.execute(statement)

    async def record_crawl_progress(self, progress: CrawlProgress) -> None:
        """Keep the latest counters of a crawl; an older event arriving late changes nothing."""
        statement = insert(crawls).values(
            crawl_id=progress.crawl_id,
            tenant_id=progress.tenant_id,
            kb_id=progress.kb_id,
            state=progress.state.value,
            discovered=progress.discovered,
            fetched=progress.fetched,
            failed=progress.failed,
            skipped=progress.skipped,
            first_seen_at=progress.occurred_at,
            updated_at=progress.occurred_at,
        )
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[crawls.c.crawl_id],
            set_={
                "state": excluded.state,
                "discovered": excluded.discovered,
                "fetched": excluded.fetched,
                "failed": excluded.failed,
                "skipped": excluded.skipped,
                "updated_at": excluded.updated_at,
            },
            where=crawls.c.updated_at <= excluded.updated_at,
        )
        async with self.sessions() as conn, conn.begin():
            await conn.execute(statement)

    async def record_feedback(self, record: FeedbackRecord) -> None:
        """Count a rating of one answer; rating the same answer again replaces the first."""
        statement = insert(feedback).values(
            message_id=record.message_id,
            tenant_id=record.tenant_id,
            conversation_id=record.conversation_id,
            rating=record.rating,
            comment=record.comment,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[feedback.c.message_id],
            set_={
                "rating": statement.excluded.rating,
                "comment": statement.excluded.comment,
                "created_at": func.now(),
            },
            where=feedback.c.tenant_id == statement.excluded.tenant_id,
        )
        async with self.sessions() as conn, conn.begin():
            await conn.execute(statement)

    async def conversations_per_day(self, scope: AnalyticsScope) -> list[DayCount]:
        """Distinct conversations, turns and stopped turns per day, days without turns left
        out."""
        statement = (
            select(
                turns.c.day,
                func.count(turns.c.conversation_id.distinct()),
                func.count(),
                func.count().filter(turns.c.stopped.is_(True)),
            )
            .where(_visible_turns(scope))
            .group_by(turns.c.day)
            .order_by(turns.c.day)
        )
        async with self.sessions() as conn:
            rows = await conn.execute(statement)
            return [DayCount(day, int(c), int(t), int(s)) for day, c, t, s in rows]

    async def questions(
        self, scope: AnalyticsScope, declined_only: bool, limit: int
    ) -> list[QuestionCount]:
        """The ``limit`` most asked distinct questions (by normalised text) with an embedding
        when one is stored."""
        condition = _visible_turns(scope)
        if declined_only:
            condition = and_(condition, turns.c.declined.is_(True))
        counted = (
            select(
                turns.c.question_key,
                func.mode().within_group(turns.c.question),
                func.count(),
            )
            .where(condition)
            .group_by(turns.c.question_key)
            .order_by(func.count().desc(), turns.c.question_key)
            .limit(limit)
        )
        async with self.sessions() as conn:
            counts = (await conn.execute(counted)).all()
            keys = [row[0] for row in counts]
            embedded = await conn.execute(
                select(turns.c.question_key, turns.c.question_embedding)
                .ext(distinct_on(turns.c.question_key))
                .where(
                    turns.c.tenant_id == scope.tenant_id,
                    turns.c.question_key.in_(keys),
                    turns.c.question_embedding.is_not(None),
                )
                .order_by(turns.c.question_key)
            )
            vectors = {key: list(vector) for key, vector in embedded}
        return [
            QuestionCount(key, question, int(count), vectors.get(key))
            for key, question, count in counts
        ]

    async def store_embeddings(self, tenant_id: UUID, vectors: dict[str, list[float]]) -> None:
        """Remember question embeddings computed late, for every turn with that question."""
        async with self.sessions() as conn, conn.begin():
            for key, vector in vectors.items():
                await conn.execute(
                    update(turns)
                    .where(
                        turns.c.tenant_id == tenant_id,
                        turns.c.question_key == key,
                        turns.c.question_embedding.is_(None),
                    )
                    .values(question_embedding=vector)
                )

    async def feedback_totals(self, scope: AnalyticsScope, recent: int) -> FeedbackTotals:
        """Up and down counts and the newest ratings, for conversations the caller may see."""
        visible = (
            select(literal(1))
            .where(_visible_turns(scope), turns.c.conversation_id == feedback.c.conversation_id)
            .exists()
        )
        rated = and_(
            feedback.c.tenant_id == scope.tenant_id,
            feedback.c.created_at >= scope.since,
            visible,
        )
        question = (
            select(turns.c.question)
            .where(cast(turns.c.turn_id, String) == feedback.c.message_id)
            .scalar_subquery()
        )
        async with self.sessions() as conn:
            totals: dict[str, int] = dict(
                (
                    await conn.execute(
                        select(feedback.c.rating, func.count())
                        .where(rated)
                        .group_by(feedback.c.rating)
                    )
                ).all()
            )
            rows = await conn.execute(
                select(
                    feedback.c.message_id,
                    feedback.c.conversation_id,
                    feedback.c.rating,
                    feedback.c.comment,
                    feedback.c.created_at,
                    question,
                )
                .where(rated)
                .order_by(feedback.c.created_at.desc(), feedback.c.message_id)
                .limit(recent)
            )
            entries = [FeedbackEntry(*row) for row in rows]
        return FeedbackTotals(int(totals.get("up", 0)), int(totals.get("down", 0)), entries)

    async def latency(self, scope: AnalyticsScope) -> tuple[LatencyFigures, list[DayLatency]]:
        """Latency percentiles over the whole window and per day."""
        where = _visible_turns(scope)
        async with self.sessions() as conn:
            overall = (await conn.execute(select(*_latency_columns()).where(where))).one()
            days = await conn.execute(
                select(turns.c.day, *_latency_columns())
                .where(where)
                .group_by(turns.c.day)
                .order_by(turns.c.day)
            )
            by_day = [DayLatency(row[0], _figures(row[1:])) for row in days]
        return _figures(overall), by_day

    async def crawl_stats(self, scope: AnalyticsScope) -> list[KbCrawlStats]:
        """Per readable kb: crawls seen in the window, pages fetched and failed, the last state."""
        condition = and_(
            crawls.c.tenant_id == scope.tenant_id,
            crawls.c.kb_id.in_(sorted(scope.readable_kb_ids)),
            crawls.c.updated_at >= scope.since,
        )
        if scope.kb_id is not None:
            condition = and_(condition, crawls.c.kb_id == scope.kb_id)
        # The state of the kb's most recently updated crawl.
        last_state = func.array_agg(aggregate_order_by(crawls.c.state, crawls.c.updated_at.desc()))[
            1
        ]
        statement = (
            select(
                crawls.c.kb_id,
                func.count(),
                func.count().filter(crawls.c.state.in_(["queued", "running"])),
                func.coalesce(func.sum(crawls.c.fetched), 0),
                func.coalesce(func.sum(crawls.c.failed), 0),
                last_state,
                func.max(crawls.c.updated_at),
            )
            .where(condition)
            .group_by(crawls.c.kb_id)
            .order_by(crawls.c.kb_id)
        )
        async with self.sessions() as conn:
            rows = await conn.execute(statement)
            return [
                KbCrawlStats(kb, int(n), int(running), int(fetched), int(failed), state, last)
                for kb, n, running, fetched, failed, state, last in rows
            ]
