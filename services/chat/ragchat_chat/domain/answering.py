"""One turn of a conversation, from question to stored answer.

Order of work: check the request, load the conversation's memory, rewrite a follow-up into a
standalone query, try the answer cache (first questions only), search the knowledge bases,
decline or stream the provider's answer with its citation markers renumbered, then store the
turn, cache it, publish ``chat.turn`` and report the summary. The caller sees tokens, then
citations, then one summary.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

from ragchat_common.events import ChatTurn
from ragchat_common.logs import get_logger
from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_chat.domain.access import (
    Caller,
    InvalidRequest,
    NotFound,
    owns,
    parse_uuid,
    requested_kbs,
    require_chat,
)
from ragchat_chat.domain.cache import AnswerCache, cache_key
from ragchat_chat.domain.grounding import (
    DECLINE_TEXT,
    CitationRenumberer,
    closest_pages,
    decline_reply,
    says_no_answer,
    should_decline,
)
from ragchat_chat.domain.memory import fit_memory
from ragchat_chat.domain.model import Answer, Citation, TurnTimings
from ragchat_chat.domain.retrieval import Retrieval, Retrieved
from ragchat_chat.domain.rewrite import rewrite_heuristically
from ragchat_chat.domain.text import estimate_tokens
from ragchat_chat.handlers.turns import TurnPublisher
from ragchat_chat.providers.base import (
    AnswerProvider,
    GroundedPrompt,
    QueryRewriter,
    Turn,
    Usage,
)
from ragchat_chat.store import conversations as store

log = get_logger(__name__)

CACHED_PREFIX = "cached:"


@dataclass(frozen=True)
class Question:
    """A Converse request as chat reads it."""

    conversation_id: str
    kb_ids: Sequence[str]
    message: str
    skip_cache: bool = False


@dataclass(frozen=True)
class TurnSummary:
    """The last event of a turn."""

    conversation_id: UUID
    turn_id: UUID
    timings: TurnTimings
    prompt_tokens: int
    completion_tokens: int
    provider: str
    declined: bool


Event = str | Citation | TurnSummary
"""What a turn streams: answer text, then citations, then one summary."""


@dataclass(frozen=True)
class AnsweringPolicy:
    """The knobs of answering, from the settings."""

    retrieval_k: int
    decline_min_score: float
    decline_pages: int
    max_message_chars: int
    max_history_turns: int
    history_token_budget: int
    rewrite_with_model: bool


@dataclass
class Clock:
    """Milliseconds since the request arrived."""

    started: float

    def ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def replay(text: str) -> list[str]:
    """A stored answer as word pieces, so a cached or declined reply streams like a live one."""
    words = text.split(" ")
    return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


class Answering:
    """Answers questions in conversations."""

    def __init__(
        self,
        engine: AsyncEngine,
        retrieval: Retrieval,
        provider: AnswerProvider,
        cache: AnswerCache,
        turns: TurnPublisher,
        policy: AnsweringPolicy,
    ) -> None:
        self.engine = engine
        self.retrieval = retrieval
        self.provider = provider
        self.cache = cache
        self.turns = turns
        self.policy = policy

    async def _history(self, caller: Caller, conversation_id: UUID) -> list[Turn]:
        """The conversation's recent turns; NOT_FOUND unless the caller started it."""
        async with self.engine.connect() as conn:
            conversation = await store.find_conversation(conn, conversation_id)
            if conversation is None or not owns(
                caller, conversation.tenant_id, conversation.owner_subject
            ):
                raise NotFound("no such conversation")
            past = await store.recent_turns(conn, conversation_id, self.policy.max_history_turns)
        return [Turn(question=t.question, answer=t.answer) for t in past]

    async def _standalone(self, question: str, history: tuple[Turn, ...]) -> str:
        """The follow-up as a standalone query: by the model when it can, else the heuristic."""
        if not history:
            return question
        if self.policy.rewrite_with_model and isinstance(self.provider, QueryRewriter):
            try:
                return await self.provider.rewrite(question, history)
            except Exception:
                # A rewrite is an improvement, not a requirement: fall back to the heuristic.
                log.warning("model rewrite failed; using the heuristic", exc_info=True)
        return rewrite_heuristically(question, history)

    async def converse(self, caller: Caller, request: Question) -> AsyncIterator[Event]:
        """Answer one question; yields text pieces, then citations, then the summary."""
        clock = Clock(time.perf_counter())
        require_chat(caller)
        message = request.message.strip()
        if not message:
            raise InvalidRequest("the message is empty")
        if len(message) > self.policy.max_message_chars:
            raise InvalidRequest(
                f"the message is longer than {self.policy.max_message_chars} characters"
            )
        kb_ids = requested_kbs(caller, request.kb_ids)
        if request.conversation_id:
            conversation_id = parse_uuid(request.conversation_id, "conversation id")
            history = await self._history(caller, conversation_id)
            is_new = False
        else:
            conversation_id, history, is_new = uuid4(), [], True
        memory = fit_memory(history, self.policy.history_token_budget)
        standalone = await self._standalone(message, tuple(history))

        key = None
        if not history and not request.skip_cache:
            version = await self.retrieval.index_version(kb_ids)
            if version is not None:
                key = cache_key(message, kb_ids, version, self.provider.name)
                cached = await self.cache.get(key)
                if cached is not None:
                    retrieval_ms = clock.ms()
                    answer = Answer(
                        text=cached.text,
                        citations=cached.citations,
                        declined=cached.declined,
                        provider=CACHED_PREFIX + cached.provider,
                        prompt_tokens=0,
                        completion_tokens=0,
                    )
                    first_token_ms = clock.ms()
                    for piece in replay(answer.text):
                        yield piece
                    for citation in answer.citations:
                        yield citation
                    yield await self._finish(
                        caller,
                        conversation_id,
                        is_new,
                        message,
                        standalone,
                        kb_ids,
                        answer,
                        TurnTimings(retrieval_ms, first_token_ms, clock.ms()),
                        cache_key_to_fill=None,
                    )
                    return

        retrieved: Retrieved = await self.retrieval.search(
            standalone, caller.tenant_id, kb_ids, self.policy.retrieval_k
        )
        retrieval_ms = clock.ms()
        passages = retrieved.passages
        usage = Usage()
        first_token_ms = 0.0
        prompt = GroundedPrompt(
            question=message,
            standalone_question=standalone,
            passages=passages,
            history=memory.turns,
            history_summary=memory.summary,
        )
        if should_decline(passages, self.policy.decline_min_score):
            text, citations = decline_reply(closest_pages(passages, self.policy.decline_pages))
            first_token_ms = clock.ms()
            for piece in replay(text):
                yield piece
            declined = True
        else:
            renumberer = CitationRenumberer(passages)
            shown: list[str] = []
            async for piece in self.provider.stream(prompt, usage):
                out = renumberer.feed(piece)
                if out:
                    if not shown:
                        first_token_ms = clock.ms()
                    shown.append(out)
                    yield out
            tail = renumberer.flush()
            if tail:
                shown.append(tail)
                yield tail
            text = "".join(shown).strip()
            citations = renumberer.citations()
            declined = says_no_answer(text) or not text
            if declined:
                # The provider found no answer in the passages: point at the closest pages (and
                # say the decline sentence too when the provider said nothing at all).
                reply, citations = decline_reply(closest_pages(passages, self.policy.decline_pages))
                addition = reply.removeprefix(DECLINE_TEXT).strip() if text else reply
                if addition:
                    if not text:
                        first_token_ms = clock.ms()
                    for index, piece in enumerate(replay(addition)):
                        yield f" {piece}" if text and index == 0 else piece
                    text = f"{text} {addition}".strip()
        for citation in citations:
            yield citation
        answer = Answer(
            text=text,
            citations=tuple(citations),
            declined=declined,
            provider=self.provider.name,
            prompt_tokens=usage.prompt_tokens
            or sum(estimate_tokens(m.content) for m in prompt.messages()),
            completion_tokens=usage.completion_tokens or estimate_tokens(text),
        )
        yield await self._finish(
            caller,
            conversation_id,
            is_new,
            message,
            standalone,
            kb_ids,
            answer,
            TurnTimings(retrieval_ms, first_token_ms, clock.ms()),
            cache_key_to_fill=key,
        )

    async def _finish(
        self,
        caller: Caller,
        conversation_id: UUID,
        is_new: bool,
        question: str,
        standalone: str,
        kb_ids: tuple[UUID, ...],
        answer: Answer,
        timings: TurnTimings,
        cache_key_to_fill: str | None,
    ) -> TurnSummary:
        """Store the turn, fill the cache, publish ``chat.turn``; the summary to send last."""
        turn_id = uuid4()
        async with self.engine.begin() as conn:
            if is_new:
                await store.create_conversation(
                    conn, conversation_id, caller.tenant_id, caller.subject, question[:80], kb_ids
                )
            elif await store.find_conversation(conn, conversation_id, lock=True) is None:
                raise NotFound("the conversation was deleted")
            await store.append_turn(
                conn,
                conversation_id,
                question_id=uuid4(),
                question=question,
                standalone_query=standalone,
                answer_id=turn_id,
                answer=answer,
                timings=timings,
                kb_ids=kb_ids,
            )
        if cache_key_to_fill is not None:
            await self.cache.put(cache_key_to_fill, answer)
        await self.turns.publish(
            ChatTurn(
                turn_id=turn_id,
                conversation_id=conversation_id,
                tenant_id=caller.tenant_id,
                kb_ids=list(kb_ids),
                principal=caller.subject,
                question=question,
                answer_chars=len(answer.text),
                cited_urls=list(dict.fromkeys(c.url for c in answer.citations)),
                retrieval_ms=timings.retrieval_ms,
                first_token_ms=timings.first_token_ms,
                total_ms=timings.total_ms,
                provider=answer.provider,
                declined=answer.declined,
            )
        )
        return TurnSummary(
            conversation_id=conversation_id,
            turn_id=turn_id,
            timings=timings,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            provider=answer.provider,
            declined=answer.declined,
        )
