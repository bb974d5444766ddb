"""``POST /api/v1/chat/stream``: a chat turn as Server-Sent Events, for clients without WebSocket.

Events: ``token`` ``{"text"}``, ``citation`` ``{number,chunk_id,url,title,snippet,image_src}``,
``summary`` ``{conversation_id,turn_id,retrieval_ms,first_token_ms,total_ms,prompt_tokens,
completion_tokens,provider,declined}`` and ``error`` ``{code,message}``, in ChatService's order.
Everything that can be refused (credentials, widget origin, knowledge bases, role, rate limit) is
checked before the stream starts, so refusals are plain JSON errors with their HTTP status.
Widget keys: auth checks the ``Origin`` header against the key's allowed origins (403 otherwise);
the CORS preflight of this path is open to any origin (see ``main.CorsByPath``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, Field
from ragchat.v1 import chat_pb2, principal_pb2

from ragchat_gateway.api.deps import (
    COMMON_ERRORS,
    ApiError,
    Context,
    CurrentPrincipal,
    GatewayContext,
    authorize,
    forbidden,
    readable_kb_ids,
)
from ragchat_gateway.domain.chat_relay import (
    ChatAsk,
    ChatRelay,
    KnowledgeBaseForbidden,
    NoKnowledgeBase,
    RelayFrame,
)

router = APIRouter(prefix="/api/v1", tags=["chat"])

MAX_MESSAGE_CHARS = 4000


class ChatStreamRequest(BaseModel):
    """One question; without ``conversation_id`` a new conversation starts."""

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, examples=["How do I reset?"])
    conversation_id: uuid.UUID | None = None
    # Knowledge bases to answer from; all the caller may read when omitted.
    kb_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
    # Regenerate instead of answering from the answer cache.
    skip_cache: bool = False

    def ask(self) -> ChatAsk:
        """The relay's view of this request."""
        return ChatAsk(
            message=self.message,
            conversation_id=str(self.conversation_id) if self.conversation_id else "",
            kb_ids=tuple(str(kb) for kb in self.kb_ids or ()),
            skip_cache=self.skip_cache,
        )


def chat_relay(context: GatewayContext) -> ChatRelay:
    """The relay over this process's ChatService channel."""
    return ChatRelay(context.chat, context.settings.chat_turn_timeout_s)


async def authorize_turn(
    context: GatewayContext, principal: principal_pb2.Principal, kb_ids: list[str]
) -> None:
    """Auth's ``chat.converse`` decision for the turn (403 if refused).

    Asked on the first knowledge base only: the rule's role and scope part is the same for every
    knowledge base, and each one's reachability was already established (the kb ids are a
    subset of the caller's readable ones), so one call decides what one per kb would.
    """
    await authorize(context, principal, "chat.converse", kb_ids[0])


async def prepare_turn(
    context: GatewayContext, principal: principal_pb2.Principal, ask: ChatAsk
) -> chat_pb2.ConverseRequest:
    """The Converse request of an allowed ask: kb ids readable by the caller and allowed by auth.

    Raises :class:`ApiError` 403 for a knowledge base the caller may not read, 400 when it can
    read none.
    """
    readable = await readable_kb_ids(context, principal)
    try:
        request = chat_relay(context).request(principal, readable, ask)
    except KnowledgeBaseForbidden as exc:
        raise forbidden(str(exc)) from exc
    except NoKnowledgeBase as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    await authorize_turn(context, principal, list(request.kb_ids))
    return request


def sse_event(frame: RelayFrame) -> bytes:
    """One frame in the ``text/event-stream`` wire format."""
    return format_sse_event(event=frame.kind, data_str=json.dumps(frame.data))


async def sse_stream(relay: ChatRelay, request: chat_pb2.ConverseRequest) -> AsyncIterator[bytes]:
    """The turn's frames as SSE; closing it (client gone) cancels the gRPC stream."""
    frames = relay.stream(request)
    try:
        async for frame in frames:
            yield sse_event(frame)
    finally:
        await frames.aclose()


_SSE_DOC = {
    200: {
        "description": "The answer as Server-Sent Events: token*, citation*, then summary "
        "(or error).",
        "content": {
            "text/event-stream": {
                "example": 'event: token\ndata: {"text": "Press "}\n\n'
                'event: citation\ndata: {"number": 1, "chunk_id": "c1", "url": '
                '"https://example.com/reset", "title": "Reset", "snippet": "...", '
                '"image_src": ""}\n\n'
                'event: summary\ndata: {"conversation_id": "...", "turn_id": "...", '
                '"retrieval_ms": 12.0, "first_token_ms": 80.0, "total_ms": 900.0, '
                '"prompt_tokens": 512, "completion_tokens": 64, "provider": "local", '
                '"declined": false}\n\n'
            }
        },
    },
    **COMMON_ERRORS,
}


# Not ``response_class=EventSourceResponse``: FastAPI would then expect a generator endpoint, and
# refusals must be plain JSON errors decided before the stream starts.
@router.post("/chat/stream", response_model=None, responses=_SSE_DOC)
async def chat_stream(
    body: ChatStreamRequest, context: Context, principal: CurrentPrincipal
) -> EventSourceResponse:
    """Ask a question and receive the answer as it is written, with its sources."""
    request = await prepare_turn(context, principal, body.ask())
    return EventSourceResponse(
        sse_stream(chat_relay(context), request),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
