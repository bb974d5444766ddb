"""Conversation history over ChatService: list, read, delete, and feedback on answers.

ChatService owns conversations and decides who sees which (a caller sees its own; agents, admins
and owners also the tenant's within the knowledge bases they read; admins and owners delete
those). The gateway passes the caller with its readable knowledge bases spelled out, refuses a
``kb_id`` filter the caller cannot read, and counts feedback in the analytics read model too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from ragchat.v1 import chat_pb2
from ragchat_common.logs import get_logger

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    Context,
    CurrentPrincipal,
    GatewayContext,
    error_responses,
    forbidden,
    readable_kb_ids,
    with_kb_ids,
)
from ragchat_gateway.api.deps import Principal as PrincipalMessage
from ragchat_gateway.store.analytics import AnalyticsStore, FeedbackRecord

log = get_logger(__name__)

router = APIRouter(
    prefix="/api/v1", tags=["conversations"], responses={**COMMON_ERRORS, **error_responses(404)}
)


class Citation(BaseModel):
    """A source an answer cites as ``[number]``."""

    number: int
    chunk_id: str
    url: str
    title: str
    snippet: str
    image_src: str


class ConversationSummary(BaseModel):
    """A conversation in a listing."""

    id: str
    title: str
    kb_ids: list[str]
    # The user id or API key id that started it.
    owner_subject: str
    created_at: datetime | None
    updated_at: datetime | None
    message_count: int


class Message(BaseModel):
    """A question or an answer, with the answer's citations and feedback."""

    id: str
    role: Literal["user", "assistant"] | str
    content: str
    citations: list[Citation]
    declined: bool
    created_at: datetime | None
    # "up", "down" or null.
    feedback: str | None
    feedback_comment: str


class Conversation(ConversationSummary):
    """A conversation with its messages, oldest first."""

    messages: list[Message]


class ConversationList(BaseModel):
    """A page of conversations, most recently updated first."""

    items: list[ConversationSummary]
    # Pass as ``before`` to get the next page; null on the last page.
    next_before: datetime | None


class FeedbackRequest(BaseModel):
    """A thumbs up or down on one answer."""

    message_id: str = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


def _time(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


def _ms(moment: datetime | None) -> int:
    if moment is None:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def summary_of(summary: chat_pb2.ConversationSummary) -> ConversationSummary:
    """The API view of a ChatService conversation summary."""
    return ConversationSummary(
        id=summary.id,
        title=summary.title,
        kb_ids=list(summary.kb_ids),
        owner_subject=summary.owner_subject,
        created_at=_time(summary.created_at_ms),
        updated_at=_time(summary.updated_at_ms),
        message_count=summary.message_count,
    )


def message_of(message: chat_pb2.Message) -> Message:
    """The API view of one ChatService message."""
    return Message(
        id=message.id,
        role=message.role,
        content=message.content,
        citations=[
            Citation(
                number=c.number,
                chunk_id=c.chunk_id,
                url=c.url,
                title=c.title,
                snippet=c.snippet,
                image_src=c.image_src,
            )
            for c in message.citations
        ],
        declined=message.declined,
        created_at=_time(message.created_at_ms),
        feedback=message.feedback or None,
        feedback_comment=message.feedback_comment,
    )


async def explicit_caller(context: GatewayContext, principal: PrincipalMessage) -> PrincipalMessage:
    """The caller with its readable knowledge bases as explicit ids, for ChatService."""
    return with_kb_ids(principal, await readable_kb_ids(context, principal))


@router.get("/conversations", response_model=ConversationList)
async def list_conversations(
    context: Context,
    principal: CurrentPrincipal,
    kb_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[
        datetime | None, Query(description="Only conversations updated before this time")
    ] = None,
) -> ConversationList:
    """Conversations the caller may see, most recently updated first (paged with ``before``)."""
    caller = await explicit_caller(context, principal)
    if kb_id is not None and str(kb_id) not in caller.readable_kb_ids:
        raise forbidden(f"no access to knowledge base {kb_id}")
    reply = await context.chat.ListConversations(
        chat_pb2.ListConversationsRequest(
            principal=caller,
            kb_ids=[str(kb_id)] if kb_id else [],
            limit=limit,
            before_ms=_ms(before),
        ),
        timeout=context.timeout_s,
    )
    items = [summary_of(c) for c in reply.conversations]
    full_page = len(items) == limit
    return ConversationList(items=items, next_before=items[-1].updated_at if full_page else None)


@router.get("/conversations/{conversation_id}", response_model=Conversation)
async def get_conversation(
    conversation_id: uuid.UUID, context: Context, principal: CurrentPrincipal
) -> Conversation:
    """One conversation with its messages, citations and feedback."""
    reply = await context.chat.GetConversation(
        chat_pb2.GetConversationRequest(
            principal=await explicit_caller(context, principal),
            conversation_id=str(conversation_id),
        ),
        timeout=context.timeout_s,
    )
    summary = summary_of(reply.summary)
    return Conversation(**summary.model_dump(), messages=[message_of(m) for m in reply.messages])


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: uuid.UUID, context: Context, principal: CurrentPrincipal
) -> Response:
    """Delete a conversation and its messages."""
    await context.chat.DeleteConversation(
        chat_pb2.DeleteConversationRequest(
            principal=await explicit_caller(context, principal),
            conversation_id=str(conversation_id),
        ),
        timeout=context.timeout_s,
    )
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/feedback", status_code=204)
async def record_feedback(
    conversation_id: uuid.UUID,
    body: FeedbackRequest,
    context: Context,
    principal: CurrentPrincipal,
) -> Response:
    """Rate one answer up or down, with an optional comment (rating again replaces it)."""
    await context.chat.RecordFeedback(
        chat_pb2.RecordFeedbackRequest(
            principal=await explicit_caller(context, principal),
            conversation_id=str(conversation_id),
            message_id=body.message_id,
            rating=body.rating,
            comment=body.comment,
        ),
        timeout=context.timeout_s,
    )
    await count_feedback(context, principal, conversation_id, body)
    return Response(status_code=204)


async def count_feedback(
    context: GatewayContext,
    principal: PrincipalMessage,
    conversation_id: uuid.UUID,
    body: FeedbackRequest,
) -> None:
    """Add the rating to the analytics read model.

    ChatService already stored it (the record of truth); a failure here only leaves the
    analytics ratio behind, so it is logged rather than failing the request.
    """
    try:
        await AnalyticsStore(context.sessions).record_feedback(
            FeedbackRecord(
                tenant_id=uuid.UUID(principal.tenant_id),
                conversation_id=conversation_id,
                message_id=body.message_id,
                rating=body.rating,
                comment=body.comment,
            )
        )
    except Exception:
        log.exception("feedback not counted in analytics", conversation_id=str(conversation_id))
