"""One turn of a conversation, from question to stored answer.

Order of work: check the request, load the conversation's memory, rewrite a follow-up into a
standalone query, try the answer cache (first questions only), search the knowledge bases,
decline or stream the provider's answer with its citation markers renumbered, then store the
turn, cache it, publish ``chat.turn`` and report the summary. The caller sees tokens, then
citations, then one summary.

A caller that stops the stream (a cancelled call) still gets its turn stored: the question and
the part of the answer it was sent, marked ``stopped``; it is published on ``chat.turn`` with
``stopped`` set, never cached. Stores run as tasks of their own that the stop does not cancel,
and shutdown waits for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any
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
from ragchat_chat.domain.memory import Memory, fit_memory
from ragchat_chat.domain.model import Answer, Citation, TurnTimings
from ragchat_chat.domain.retrieval import Retrieval, Retrieved
from ragchat_chat.domain.rewrite import rewrite_heuristically
from ragchat_chat.domain.text import estimate_tokens
from ragchat_chat.handlers.turns import TurnPublisher
from ragchat_chat.providers.base import (
    AnswerProvider,
    GroundedPrompt,
    Passage,
    QueryRewriter,
    Turn,
    Usage,
)
from ragchat_chat.store import conversations as store

log = get_logger(__name__)

CACHED_PREFIX = "cached:"


class AnswerFailed(Exception):
    """The provider could not produce an answer (gRPC UNAVAILABLE: try again)."""


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


@dataclass
class Clock:
    """Milliseconds since the request arrived."""

    started: float

    def ms(self) -> float:
        """Milliseconds elapsed."""
        return (time.perf_counter() - self.started) * 1000


@dataclass(frozen=True)
class TurnContext:
    """What every step of one turn needs to know about it."""

    caller: Caller
    conversation_id: UUID
    is_new: bool
    question: str
    standalone: str
    kb_ids: tuple[UUID, ...]
    clock: Clock


@dataclass
class Reply:
    """The answer as it is being produced: filled in by the decline or generation step, and
    what the caller has been sent so far (all that is kept when it stops the stream)."""

    sent: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    declined: bool = False
    retrieval_ms: float = 0.0
    # The retriever's Search call alone (retrieval_ms less this is chat's own part).
    search_ms: float = 0.0
    first_token_ms: float = 0.0
    # The generation's marker renumbering: the citations of a stopped answer's sent part.
    renumberer: CitationRenumberer | None = None
    # The turn is being stored; a stop after this point must not store it a second time.
    storing: bool = False
    # "cached:<provider>" for a replayed cache hit.
    provider: str = ""

    @property
    def text(self) -> str:
        """The answer as sent."""
        return "".join(self.sent).strip()


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
    memory_turns: int
    history_token_budget: int
    rewrite_with_model: bool


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
        # Turns being stored (see _kept), so shutdown can wait for them.
        self._storing: set[asyncio.Task[None]] = set()

    async def _history(self, caller: Caller, conversation_id: UUID) -> list[Turn]:
        """The conversation's recent turns; NOT_FOUND unless the caller started it."""
        async with self.engine.connect() as conn:
            conversation = await store.find_conversation(conn, conversation_id)
            if conversation is None or not owns(
                caller, conversation.tenant_id, conversation.owner_subject
            ):
                raise NotFound("no such conversation")
            past = await store.recent_turns(conn, conversation_id, self.policy.memory_turns)
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

    def _checked(self, caller: Caller, request: Question) -> tuple[str, tuple[UUID, ...]]:
        """The message and the knowledge bases, or a refusal."""
        require_chat(caller)
        message = request.message.strip()
        if not message:
            raise InvalidRequest("the message is empty")
        if len(message) > self.policy.max_message_chars:
            raise InvalidRequest(
                f"the message is longer than {self.policy.max_message_chars} characters"
            )
        return message, requested_kbs(caller, request.kb_ids)

    async def converse(self, caller: Caller, request: Question) -> AsyncGenerator[Event, None]:
        """Answer one question; yields text pieces, then citations, then the summary."""
        clock = Clock(time.perf_counter())
        message, kb_ids = self._checked(caller, request)
        if request.conversation_id:
            conversation_id = parse_uuid(request.conversation_id, "conversation id")
            history = await self._history(caller, conversation_id)
        else:
            conversation_id, history = uuid4(), []
        turn = TurnContext(
            caller=caller,
            conversation_id=conversation_id,
            is_new=not request.conversation_id,
            question=message,
            standalone=await self._standalone(message, tuple(history)),
            kb_ids=kb_ids,
            clock=clock,
        )
        reply = Reply(provider=self.provider.name)
        try:
            # Only first questions are cached: a follow-up's answer depends on the conversation.
            cacheable = not history and not request.skip_cache
            # aclosing: a stop closes the steps below (and the provider's generation) first.
            async with aclosing(self._turn(turn, history, cacheable, reply)) as events:
                async for event in events:
                    yield event
        except (asyncio.CancelledError, GeneratorExit):
            # The caller stopped the stream (or went away): keep what it was sent.
            if not reply.storing:
                await self._store_stopped(turn, reply)
            raise

    async def _turn(
        self, turn: TurnContext, history: list[Turn], cacheable: bool, reply: Reply
    ) -> AsyncGenerator[Event, None]:
        """The cached answer when there is one, else a searched and generated (or declined)
        one."""
        key = None
        if cacheable:
            version = await self.retrieval.index_version(turn.kb_ids)
            if version is not None:
                key = cache_key(turn.question, turn.kb_ids, version, self.provider.name)
                cached = await self.cache.get(key)
                if cached is not None:
                    async for event in self._replay(turn, cached, reply):
                        yield event
                    return
        memory = fit_memory(
            history, self.policy.history_token_budget, self.policy.max_history_turns
        )
        async for event in self._answer(turn, memory, key, reply):
            yield event

    async def _replay(
        self, turn: TurnContext, cached: Answer, reply: Reply
    ) -> AsyncIterator[Event]:
        """A cached answer, streamed like a live one and stored as a turn of its own."""
        reply.retrieval_ms = reply.first_token_ms = turn.clock.ms()
        answer = replace(
            cached,
            provider=CACHED_PREFIX + cached.provider,
            prompt_tokens=0,
            completion_tokens=0,
        )
        reply.provider, reply.citations = answer.provider, list(answer.citations)
        for piece in replay(answer.text):
            reply.sent.append(piece)
            yield piece
        for citation in answer.citations:
            yield citation
        timings = TurnTimings(reply.retrieval_ms, reply.first_token_ms, turn.clock.ms())
        yield await self._finish(turn, answer, timings, reply, cache_key_to_fill=None)

    async def _answer(
        self, turn: TurnContext, memory: Memory, key: str | None, reply: Reply
    ) -> AsyncIterator[Event]:
        """Search, then decline or stream the provider's answer; citations and summary after."""
        retrieved: Retrieved = await self.retrieval.search(
            turn.standalone, turn.caller.tenant_id, turn.kb_ids, self.policy.retrieval_k
        )
        reply.retrieval_ms, reply.search_ms = turn.clock.ms(), retrieved.took_ms
        prompt = GroundedPrompt(
            question=turn.question,
            standalone_question=turn.standalone,
            passages=retrieved.passages,
            history=memory.turns,
            history_summary=memory.summary,
        )
        usage = Usage()
        if should_decline(prompt.passages, self.policy.decline_min_score):
            pieces = self._decline(prompt.passages, reply, turn.clock)
        else:
            pieces = self._generate(prompt, usage, reply, turn.clock)
        async for piece in pieces:
            reply.sent.append(piece)
            yield piece
        for citation in reply.citations:
            yield citation
        answer = Answer(
            text=reply.text,
            citations=tuple(reply.citations),
            declined=reply.declined,
            provider=self.provider.name,
            prompt_tokens=usage.prompt_tokens
            or sum(estimate_tokens(m.content) for m in prompt.messages()),
            completion_tokens=usage.completion_tokens or estimate_tokens(reply.text),
        )
        timings = TurnTimings(reply.retrieval_ms, reply.first_token_ms, turn.clock.ms())
        yield await self._finish(turn, answer, timings, reply, cache_key_to_fill=key)

    async def _decline(
        self, passages: tuple[Passage, ...], reply: Reply, clock: Clock
    ) -> AsyncIterator[str]:
        """The decline reply without asking the provider."""
        text, reply.citations = decline_reply(closest_pages(passages, self.policy.decline_pages))
        reply.declined = True
        reply.first_token_ms = clock.ms()
        for piece in replay(text):
            yield piece

    async def _generate(
        self, prompt: GroundedPrompt, usage: Usage, reply: Reply, clock: Clock
    ) -> AsyncIterator[str]:
        """The provider's answer with its markers renumbered; a decline when it found nothing."""
        renumberer = reply.renumberer = CitationRenumberer(prompt.passages)
        shown: list[str] = []
        try:
            async for piece in self.provider.stream(prompt, usage):
                out = renumberer.feed(piece)
                if out:
                    if not shown:
                        reply.first_token_ms = clock.ms()
                    shown.append(out)
                    yield out
        except Exception as exc:
            # Whatever the backend raised (HTTP, model, timeout): the turn fails as a whole and
            # is not stored; the caller may ask again.
            log.warning("answer provider failed", provider=self.provider.name, exc_info=True)
            raise AnswerFailed(f"the {self.provider.name} provider failed to answer") from exc
        tail = renumberer.flush()
        if tail:
            shown.append(tail)
            yield tail
        text = "".join(shown).strip()
        reply.citations = renumberer.citations()
        reply.declined = says_no_answer(text) or not text
        if not reply.declined:
            return
        # The provider found no answer in the passages: point at the closest pages (and say the
        # decline sentence too when the provider said nothing at all).
        full, reply.citations = decline_reply(
            closest_pages(prompt.passages, self.policy.decline_pages)
        )
        reply.renumberer = None
        addition = full.removeprefix(DECLINE_TEXT).strip() if text else full
        if not addition:
            return
        if not text:
            reply.first_token_ms = clock.ms()
        for index, piece in enumerate(replay(addition)):
            yield f" {piece}" if text and index == 0 else piece

    async def _kept(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a store to its end even when the caller is cancelled meanwhile (a stop, or the
        caller going away); :meth:`drain` waits for those still running at shutdown."""
        task = asyncio.create_task(work)
        self._storing.add(task)
        task.add_done_callback(self._storing.discard)
        await asyncio.shield(task)

    async def drain(self) -> None:
        """Wait for the turns still being stored (at shutdown, before the database closes)."""
        if self._storing:
            await asyncio.gather(*self._storing, return_exceptions=True)

    async def _store_stopped(self, turn: TurnContext, reply: Reply) -> None:
        """Store the question and the part of the answer the caller was sent, marked stopped,
        and publish the turn marked stopped.

        Nothing is cached: part of an answer is not one to serve again."""
        reply.storing = True
        text = reply.text
        citations = reply.renumberer.citations() if reply.renumberer else reply.citations
        answer = Answer(
            text=text,
            # Only the sources the sent part names.
            citations=tuple(c for c in citations if f"[{c.number}]" in text),
            declined=reply.declined,
            provider=reply.provider,
            prompt_tokens=0,
            completion_tokens=estimate_tokens(text),
            stopped=True,
        )
        timings = TurnTimings(reply.retrieval_ms, reply.first_token_ms, turn.clock.ms())
        turn_id = uuid4()
        try:
            await self._kept(self._store_and_publish(turn, turn_id, answer, timings))
        except NotFound:
            return  # deleted while it was being answered: nothing to add to
        log.info(
            "turn stopped by the caller",
            conversation_id=str(turn.conversation_id),
            turn_id=str(turn_id),
            provider=answer.provider,
            answer_chars=len(text),
            total_ms=round(timings.total_ms, 1),
        )

    async def _store_and_publish(
        self, turn: TurnContext, turn_id: UUID, answer: Answer, timings: TurnTimings
    ) -> None:
        """Store a stopped turn, then publish it: one kept task, so a turn stopped during
        shutdown is published before the broker closes."""
        await self._store(turn, turn_id, answer, timings)
        await self.turns.publish(self._turn_event(turn, turn_id, answer, timings))

    async def _store(
        self, turn: TurnContext, turn_id: UUID, answer: Answer, timings: TurnTimings
    ) -> None:
        """Write the question and its answer (and the conversation, for its first turn)."""
        caller, conversation_id = turn.caller, turn.conversation_id
        async with self.engine.begin() as conn:
            if turn.is_new:
                await store.create_conversation(
                    conn,
                    conversation_id,
                    caller.tenant_id,
                    caller.subject,
                    turn.question[:80],
                    turn.kb_ids,
                )
            elif await store.find_conversation(conn, conversation_id, lock=True) is None:
                raise NotFound("the conversation was deleted")
            await store.append_turn(
                conn,
                conversation_id,
                question_id=uuid4(),
                question=turn.question,
                standalone_query=turn.standalone,
                answer_id=turn_id,
                answer=answer,
                timings=timings,
                kb_ids=turn.kb_ids,
            )

    async def _finish(
        self,
        turn: TurnContext,
        answer: Answer,
        timings: TurnTimings,
        reply: Reply,
        cache_key_to_fill: str | None,
    ) -> TurnSummary:
        """Store the turn, fill the cache, publish ``chat.turn``; the summary to send last."""
        conversation_id = turn.conversation_id
        turn_id = uuid4()
        reply.storing = True
        await self._kept(self._store(turn, turn_id, answer, timings))
        log.info(
            "turn answered",
            conversation_id=str(conversation_id),
            turn_id=str(turn_id),
            provider=answer.provider,
            declined=answer.declined,
            citations=len(answer.citations),
            retrieval_ms=round(timings.retrieval_ms, 1),
            search_ms=round(reply.search_ms, 1),
            first_token_ms=round(timings.first_token_ms, 1),
            total_ms=round(timings.total_ms, 1),
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )
        if cache_key_to_fill is not None:
            await self.cache.put(cache_key_to_fill, answer)
        await self.turns.publish(self._turn_event(turn, turn_id, answer, timings))
        return TurnSummary(
            conversation_id=conversation_id,
            turn_id=turn_id,
            timings=timings,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            provider=answer.provider,
            declined=answer.declined,
        )

    @staticmethod
    def _turn_event(
        turn: TurnContext, turn_id: UUID, answer: Answer, timings: TurnTimings
    ) -> ChatTurn:
        """A stored turn as analytics reads it (topic ``chat.turn``)."""
        return ChatTurn(
            turn_id=turn_id,
            conversation_id=turn.conversation_id,
            tenant_id=turn.caller.tenant_id,
            kb_ids=list(turn.kb_ids),
            principal=turn.caller.subject,
            question=turn.question,
            answer_chars=len(answer.text),
            cited_urls=list(dict.fromkeys(c.url for c in answer.citations)),
            retrieval_ms=timings.retrieval_ms,
            first_token_ms=timings.first_token_ms,
            total_ms=timings.total_ms,
            provider=answer.provider,
            declined=answer.declined,
            stopped=answer.stopped,
        )
