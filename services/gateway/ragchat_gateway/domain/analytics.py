"""Analytics of answered questions: recording turns, and grouping questions by meaning.

Questions are grouped by what they mean, not their exact words: each distinct question is embedded
(RetrieverService.Embed, the same all-MiniLM-L6-v2 encoder that indexes the knowledge bases) and
clustered greedily: a question joins the group whose centroid it is most similar to when the cosine
similarity reaches the threshold, else it starts a group. The greedy pass is linear in groups per
question, which is plenty for the few thousand distinct questions of a window; a full clustering
library (HDBSCAN, agglomerative) would need a distance matrix and a dependency for no visible gain.
When the retriever cannot embed, questions fall back to grouping by normalised text and the
answer says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

import grpc
import numpy as np
from numpy.typing import NDArray
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.events import ChatTurn, CrawlProgress
from ragchat_common.logs import get_logger
from ragchat_common.rpc import GrpcPeer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ragchat_gateway.settings import AnalyticsSettings
from ragchat_gateway.store.analytics import AnalyticsScope, AnalyticsStore, QuestionCount

log = get_logger(__name__)


class EncoderUnavailable(Exception):
    """The question encoder (the retriever) could not embed: group by text instead."""


class QuestionEncoder(Protocol):
    """Turns questions into vectors (one per text, same order)."""

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass(frozen=True)
class RetrieverQuestionEncoder:
    """Embeds questions with RetrieverService.Embed, in batches."""

    retriever: GrpcPeer
    batch: int = 64
    timeout_s: float = 10.0

    async def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors of ``texts``; :class:`EncoderUnavailable` when the retriever fails."""
        # The generated stubs carry no type hints.
        stub = retriever_pb2_grpc.RetrieverServiceStub(self.retriever.channel)  # type: ignore[no-untyped-call]
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch):
            chunk = list(texts[start : start + self.batch])
            try:
                reply = await stub.Embed(
                    retriever_pb2.EmbedRequest(texts=chunk), timeout=self.timeout_s
                )
            except (grpc.aio.AioRpcError, RuntimeError) as exc:
                raise EncoderUnavailable(str(exc)) from exc
            if len(reply.embeddings) != len(chunk):
                raise EncoderUnavailable(
                    f"retriever returned {len(reply.embeddings)} vectors for {len(chunk)} texts"
                )
            vectors.extend(list(e.values) for e in reply.embeddings)
        return vectors


_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalise_question(question: str) -> str:
    """The question compared as text: NFKC, lower case, no punctuation, single spaces."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


class Grouping(StrEnum):
    """How a list of question groups was formed."""

    MEANING = "meaning"
    TEXT = "text"


@dataclass
class QuestionGroup:
    """Questions that mean the same thing: a label, how often they were asked, examples."""

    label: str
    count: int
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GroupedQuestions:
    """Question groups, most asked first, and whether they were grouped by meaning."""

    grouping: Grouping
    groups: list[QuestionGroup]


def _unit(vector: Sequence[float]) -> NDArray[np.float64]:
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


def group_by_meaning(
    questions: Sequence[QuestionCount],
    vectors: Sequence[Sequence[float]],
    threshold: float,
    examples: int = 5,
) -> list[QuestionGroup]:
    """Greedy clustering of distinct questions by cosine similarity of their vectors.

    Questions are taken most asked first, so each group's label is its most asked question; a
    group's centroid is the count-weighted mean of its members' unit vectors.
    """
    order = sorted(range(len(questions)), key=lambda i: (-questions[i].count, questions[i].key))
    groups: list[QuestionGroup] = []
    sums: list[NDArray[np.float64]] = []
    for i in order:
        question, vector = questions[i], _unit(vectors[i])
        best, similarity = -1, -1.0
        if sums:
            centroids = np.stack([s / (np.linalg.norm(s) or 1.0) for s in sums])
            similarities = centroids @ vector
            best = int(np.argmax(similarities))
            similarity = float(similarities[best])
        if best >= 0 and similarity >= threshold:
            groups[best].count += question.count
            if len(groups[best].examples) < examples:
                groups[best].examples.append(question.question)
            sums[best] = sums[best] + vector * question.count
        else:
            groups.append(QuestionGroup(question.question, question.count, [question.question]))
            sums.append(vector * question.count)
    return sorted(groups, key=lambda g: (-g.count, g.label))


def group_by_text(questions: Sequence[QuestionCount]) -> list[QuestionGroup]:
    """One group per normalised question text (the fallback without an encoder)."""
    groups = [QuestionGroup(q.question, q.count, [q.question]) for q in questions]
    return sorted(groups, key=lambda g: (-g.count, g.label))


def window_start(days: int, today: date | None = None) -> date:
    """First day of a window of ``days`` days ending today (UTC)."""
    return (today or datetime.now(UTC).date()) - timedelta(days=days - 1)


class AnalyticsService:
    """Records turns and crawl progress, and answers the analytics questions."""

    def __init__(
        self, store: AnalyticsStore, encoder: QuestionEncoder, settings: AnalyticsSettings
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings

    async def record_turn(self, turn: ChatTurn) -> None:
        """Store one turn with its question's embedding (without one when the retriever is away:
        it is computed when the questions are next grouped)."""
        embedding: list[float] | None = None
        try:
            embedding = (await self.encoder([turn.question]))[0]
        except EncoderUnavailable as exc:
            log.warning("question not embedded", turn_id=str(turn.turn_id), error=str(exc))
        await self.store.record_turn(turn, normalise_question(turn.question), embedding)

    async def record_crawl_progress(self, progress: CrawlProgress) -> None:
        """Keep the crawl's latest counters."""
        await self.store.record_crawl_progress(progress)

    async def grouped_questions(
        self, scope: AnalyticsScope, declined_only: bool, limit: int
    ) -> GroupedQuestions:
        """The ``limit`` largest groups of questions (declined ones only for knowledge gaps)."""
        questions = await self.store.questions(
            scope, declined_only, self.settings.max_distinct_questions
        )
        vectors = await self._vectors(scope.tenant_id, questions)
        if vectors is None:
            return GroupedQuestions(Grouping.TEXT, group_by_text(questions)[:limit])
        groups = group_by_meaning(questions, vectors, self.settings.similarity_threshold)
        return GroupedQuestions(Grouping.MEANING, groups[:limit])

    async def _vectors(
        self, tenant_id: UUID, questions: Sequence[QuestionCount]
    ) -> list[list[float]] | None:
        """Every question's vector, embedding (and storing) those still without one; ``None``
        when the encoder is unavailable."""
        missing = [q for q in questions if q.embedding is None]
        computed: dict[str, list[float]] = {}
        if missing:
            try:
                vectors = await self.encoder([q.question for q in missing])
            except EncoderUnavailable as exc:
                log.warning("questions grouped by text: encoder unavailable", error=str(exc))
                return None
            computed = {q.key: v for q, v in zip(missing, vectors, strict=True)}
            await self.store.store_embeddings(tenant_id, computed)
        return [q.embedding if q.embedding is not None else computed[q.key] for q in questions]


def analytics_service(
    sessions: async_sessionmaker[AsyncSession], retriever: GrpcPeer, settings: AnalyticsSettings
) -> AnalyticsService:
    """The analytics service over the gateway's database, embedding with the retriever."""
    encoder = RetrieverQuestionEncoder(retriever, settings.embed_batch, settings.embed_timeout_s)
    return AnalyticsService(AnalyticsStore(sessions), encoder, settings)
