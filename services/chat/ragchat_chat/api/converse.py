"""``ChatService`` over gRPC: protobuf in, :class:`Answering` and :class:`ConversationHistory` in
the middle, protobuf out.

Refusals carry a status the gateway maps to HTTP: INVALID_ARGUMENT (bad or missing fields, no
knowledge base), PERMISSION_DENIED (a knowledge base the principal may not read, an API key
without the chat scope), NOT_FOUND (no such conversation for this principal), UNAVAILABLE (the
retriever or the answer provider did not answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import datetime
from typing import NoReturn
from uuid import UUID

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2
from ragchat_common.logs import get_logger
from ragchat_common.rpc import Registrar

from ragchat_chat.domain.access import (
    Caller,
    ChatRefused,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from ragchat_chat.domain.answering import AnswerFailed, Answering, Question, TurnSummary
from ragchat_chat.domain.history import ConversationHistory
from ragchat_chat.domain.model import Citation
from ragchat_chat.domain.retrieval import RetrievalUnavailable
from ragchat_chat.store.conversations import ConversationRecord, MessageRecord

log = get_logger(__name__)

SERVICE_NAME = chat_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name

STATUS = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    NotFound: grpc.StatusCode.NOT_FOUND,
}


LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ChatMetrics:
    """Turns by provider and outcome, their latencies, and refusals, for ``/metrics``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.turns = Counter(
            "ragchat_chat_turns_total",
            "Answered turns by provider (cached:<provider> for cache hits) and decline.",
            ["provider", "declined"],
            registry=registry,
        )
        self.retrieval = Histogram(
            "ragchat_chat_retrieval_seconds",
            "From the request to the passages (or the cache hit).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.first_token = Histogram(
            "ragchat_chat_first_token_seconds",
            "From the request to the first answer text.",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.total = Histogram(
            "ragchat_chat_turn_seconds",
            "From the request to the stored turn.",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.refusals = Counter(
            "ragchat_chat_refusals_total",
            "Requests refused, by gRPC status.",
            ["code"],
            registry=registry,
        )

    def observe(self, summary: TurnSummary) -> None:
        """Count one finished turn."""
        self.turns.labels(summary.provider, str(summary.declined).lower()).inc()
        self.retrieval.observe(summary.timings.retrieval_ms / 1000)
        self.first_token.labels(summary.provider).observe(summary.timings.first_token_ms / 1000)
        self.total.labels(summary.provider).observe(summary.timings.total_ms / 1000)


def caller_of(principal: principal_pb2.Principal) -> Caller:
    """The request's principal; INVALID_ARGUMENT when it names no subject or tenant."""
    if not principal.subject:
        raise InvalidRequest("the request carries no principal")
    try:
        tenant_id = UUID(principal.tenant_id)
        readable = frozenset(UUID(kb) for kb in principal.readable_kb_ids)
    except ValueError:
        raise InvalidRequest("the principal's tenant or knowledge base ids are malformed") from None
    return Caller(
        subject=principal.subject,
        tenant_id=tenant_id,
        role=principal.role,
        readable_kb_ids=readable,
        is_api_key=principal.kind == principal_pb2.PRINCIPAL_KIND_API_KEY,
        scopes=frozenset(principal.scopes),
        label=principal.label,
    )


def ms(moment: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def citation_message(citation: Citation) -> chat_pb2.Citation:
    """A citation as protobuf."""
    return chat_pb2.Citation(
        number=citation.number,
        chunk_id=citation.chunk_id,
        url=citation.url,
        title=citation.title,
        snippet=citation.snippet,
        image_src=citation.image_src,
    )


def summary_message(summary: TurnSummary) -> chat_pb2.TurnSummary:
    """The turn's summary as protobuf."""
    return chat_pb2.TurnSummary(
        conversation_id=str(summary.conversation_id),
        turn_id=str(summary.turn_id),
        retrieval_ms=summary.timings.retrieval_ms,
        first_token_ms=summary.timings.first_token_ms,
        total_ms=summary.timings.total_ms,
        prompt_tokens=summary.prompt_tokens,
        completion_tokens=summary.completion_tokens,
        provider=summary.provider,
        declined=summary.declined,
    )


def conversation_summary(record: ConversationRecord) -> chat_pb2.ConversationSummary:
    """A conversation's header as protobuf."""
    return chat_pb2.ConversationSummary(
        id=str(record.id),
        title=record.title,
        kb_ids=[str(kb) for kb in record.kb_ids],
        owner_subject=record.owner_subject,
        created_at_ms=ms(record.created_at),
        updated_at_ms=ms(record.updated_at),
        message_count=record.message_count,
    )


def message_of(record: MessageRecord) -> chat_pb2.Message:
    """A stored message as protobuf."""
    return chat_pb2.Message(
        id=str(record.id),
        role=record.role,
        content=record.content,
        citations=[citation_message(c) for c in record.citations],
        declined=record.declined,
        stopped=record.stopped,
        created_at_ms=ms(record.created_at),
        feedback=record.feedback,
        feedback_comment=record.feedback_comment,
    )


def register(service: ChatService) -> Registrar:
    """Adds ``service`` to a gRPC server (for :meth:`ServiceRuntime.serve_grpc`)."""

    def add(server: grpc.aio.Server) -> None:
        # The generated registration function has no type hints.
        chat_pb2_grpc.add_ChatServiceServicer_to_server(service, server)  # type: ignore[no-untyped-call]

    return add


class ChatService(chat_pb2_grpc.ChatServiceServicer):
    """Serves conversations."""

    def __init__(
        self, answering: Answering, history: ConversationHistory, metrics: ChatMetrics
    ) -> None:
        self.answering = answering
        self.history = history
        self.metrics = metrics

    async def _refuse(
        self, context: grpc.aio.ServicerContext, code: grpc.StatusCode, reason: str
    ) -> NoReturn:
        """End the call with a status and its reason."""
        self.metrics.refusals.labels(code.name.lower()).inc()
        log.info("chat request refused", code=code.name, reason=reason)
        await context.abort(code, reason)
        # grpc's type stubs do not mark abort as never returning; it always raises.
        raise AssertionError("context.abort returned")

    async def refuse(self, context: grpc.aio.ServicerContext, exc: ChatRefused) -> NoReturn:
        """End the call with the refusal's status and reason."""
        await self._refuse(
            context, STATUS.get(type(exc), grpc.StatusCode.INVALID_ARGUMENT), str(exc)
        )

    async def Converse(
        self,
        request: chat_pb2.ConverseRequest,
        context: grpc.aio.ServicerContext[chat_pb2.ConverseRequest, chat_pb2.ConverseEvent],
    ) -> AsyncIterator[chat_pb2.ConverseEvent]:
        """Stream one answer: tokens, then citations, then the summary."""
        try:
            caller = caller_of(request.principal)
            question = Question(
                conversation_id=request.conversation_id,
                kb_ids=list(request.kb_ids),
                message=request.message,
                skip_cache=request.skip_cache,
            )
            # aclosing: a call cancelled between two events closes the turn at once, so it
            # stores what was sent (see Answering.converse) rather than whenever it is collected.
            async with aclosing(self.answering.converse(caller, question)) as events:
                async for event in events:
                    if isinstance(event, str):
                        yield chat_pb2.ConverseEvent(token=event)
                    elif isinstance(event, Citation):
                        yield chat_pb2.ConverseEvent(citation=citation_message(event))
                    else:
                        self.metrics.observe(event)
                        yield chat_pb2.ConverseEvent(summary=summary_message(event))
        except ChatRefused as exc:
            await self.refuse(context, exc)
        except (RetrievalUnavailable, AnswerFailed) as exc:
            await self._refuse(context, grpc.StatusCode.UNAVAILABLE, str(exc))

    async def ListConversations(
        self,
        request: chat_pb2.ListConversationsRequest,
        context: grpc.aio.ServicerContext[
            chat_pb2.ListConversationsRequest, chat_pb2.ListConversationsResponse
        ],
    ) -> chat_pb2.ListConversationsResponse:
        """The conversations the principal may read, newest first."""
        try:
            records = await self.history.list(
                caller_of(request.principal),
                list(request.kb_ids),
                request.limit,
                request.before_ms,
            )
        except ChatRefused as exc:
            await self.refuse(context, exc)
        return chat_pb2.ListConversationsResponse(
            conversations=[conversation_summary(r) for r in records]
        )

    async def GetConversation(
        self,
        request: chat_pb2.GetConversationRequest,
        context: grpc.aio.ServicerContext[chat_pb2.GetConversationRequest, chat_pb2.Conversation],
    ) -> chat_pb2.Conversation:
        """One conversation with its messages, citations and feedback."""
        try:
            view = await self.history.get(caller_of(request.principal), request.conversation_id)
        except ChatRefused as exc:
            await self.refuse(context, exc)
        return chat_pb2.Conversation(
            summary=conversation_summary(view.conversation),
            messages=[message_of(m) for m in view.messages],
        )

    async def DeleteConversation(
        self,
        request: chat_pb2.DeleteConversationRequest,
        context: grpc.aio.ServicerContext[
            chat_pb2.DeleteConversationRequest, chat_pb2.DeleteConversationResponse
        ],
    ) -> chat_pb2.DeleteConversationResponse:
        """Delete a conversation and its messages."""
        try:
            await self.history.delete(caller_of(request.principal), request.conversation_id)
        except ChatRefused as exc:
            await self.refuse(context, exc)
        return chat_pb2.DeleteConversationResponse()

    async def RecordFeedback(
        self,
        request: chat_pb2.RecordFeedbackRequest,
        context: grpc.aio.ServicerContext[
            chat_pb2.RecordFeedbackRequest, chat_pb2.RecordFeedbackResponse
        ],
    ) -> chat_pb2.RecordFeedbackResponse:
        """Rate one answer."""
        try:
            await self.history.record_feedback(
                caller_of(request.principal),
                request.conversation_id,
                request.message_id,
                request.rating,
                request.comment,
            )
        except ChatRefused as exc:
            await self.refuse(context, exc)
        return chat_pb2.RecordFeedbackResponse()
