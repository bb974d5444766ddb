"""Relay of one chat turn: the caller's ask to ChatService.Converse, its stream back as frames.

The SSE endpoint and the WebSocket both use :class:`ChatRelay`; they differ only in how a
:class:`RelayFrame` is written. The gateway decides which knowledge bases the turn may use (the
requested ones, each readable by the caller, or every readable one) and passes the principal
with its readable knowledge bases spelled out, so ChatService never sees an empty kb list or the
``all_kbs`` shortcut alone.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import grpc
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2

FrameKind = Literal["token", "citation", "summary", "error"]

# gRPC status of a failed turn -> the API's error code (the same words the REST errors use).
_ERROR_CODES: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "invalid_request",
    grpc.StatusCode.FAILED_PRECONDITION: "invalid_request",
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.PERMISSION_DENIED: "forbidden",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "rate_limited",
    grpc.StatusCode.DEADLINE_EXCEEDED: "timeout",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
}
# Codes whose gRPC message is meant for the user; others may carry internals and are replaced.
_USER_FACING = frozenset(_ERROR_CODES) - {grpc.StatusCode.UNAVAILABLE}


@dataclass(frozen=True)
class ChatAsk:
    """One question of a conversation, as the client sent it."""

    message: str
    conversation_id: str = ""
    kb_ids: tuple[str, ...] = ()
    skip_cache: bool = False


@dataclass(frozen=True)
class RelayFrame:
    """One thing to send to the client: its kind and its JSON payload."""

    kind: FrameKind
    data: dict[str, Any] = field(default_factory=dict)


class KnowledgeBaseForbidden(Exception):
    """The caller asked for knowledge bases it may not read."""

    def __init__(self, kb_ids: Sequence[str]) -> None:
        super().__init__(f"no access to knowledge base(s): {', '.join(kb_ids)}")
        self.kb_ids = list(kb_ids)


class NoKnowledgeBase(Exception):
    """The caller may read no knowledge base, so there is nothing to answer from."""

    def __init__(self) -> None:
        super().__init__("no knowledge base to answer from: none is readable by this caller")


def choose_kb_ids(requested: Iterable[str], readable: Iterable[str]) -> list[str]:
    """The knowledge bases a turn uses: the requested ones if all are readable, else every
    readable one when none was requested.

    Raises :class:`KnowledgeBaseForbidden` naming the unreadable ones, or :class:`NoKnowledgeBase`.
    """
    allowed = set(readable)
    wanted = list(dict.fromkeys(requested))
    if wanted:
        refused = [kb for kb in wanted if kb not in allowed]
        if refused:
            raise KnowledgeBaseForbidden(refused)
        return wanted
    if not allowed:
        raise NoKnowledgeBase()
    return sorted(allowed)


def explicit_principal(
    principal: principal_pb2.Principal, readable: Iterable[str]
) -> principal_pb2.Principal:
    """A copy of ``principal`` whose ``readable_kb_ids`` lists every readable knowledge base."""
    spelled = principal_pb2.Principal()
    spelled.CopyFrom(principal)
    del spelled.readable_kb_ids[:]
    spelled.readable_kb_ids.extend(sorted(set(readable)))
    return spelled


def citation_payload(citation: chat_pb2.Citation) -> dict[str, Any]:
    """The ``citation`` frame of the API contract."""
    return {
        "number": citation.number,
        "chunk_id": citation.chunk_id,
        "url": citation.url,
        "title": citation.title,
        "snippet": citation.snippet,
        "image_src": citation.image_src,
    }


def summary_payload(summary: chat_pb2.TurnSummary) -> dict[str, Any]:
    """The ``summary`` frame of the API contract."""
    return {
        "conversation_id": summary.conversation_id,
        "turn_id": summary.turn_id,
        "retrieval_ms": summary.retrieval_ms,
        "first_token_ms": summary.first_token_ms,
        "total_ms": summary.total_ms,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "provider": summary.provider,
        "declined": summary.declined,
    }


def frame_of(event: chat_pb2.ConverseEvent) -> RelayFrame | None:
    """The frame for one ChatService event; ``None`` for an event this gateway does not know."""
    which = event.WhichOneof("event")
    if which == "token":
        return RelayFrame("token", {"text": event.token})
    if which == "citation":
        return RelayFrame("citation", citation_payload(event.citation))
    if which == "summary":
        return RelayFrame("summary", summary_payload(event.summary))
    return None


def error_frame(code: str, message: str) -> RelayFrame:
    """An ``error`` frame ``{code, message}``."""
    return RelayFrame("error", {"code": code, "message": message})


def frame_of_rpc_error(error: grpc.aio.AioRpcError) -> RelayFrame:
    """The ``error`` frame for a failed Converse call, without leaking server internals."""
    status = error.code()
    code = _ERROR_CODES.get(status, "internal")
    if status in _USER_FACING and error.details():
        return error_frame(code, str(error.details()))
    if status is grpc.StatusCode.UNAVAILABLE:
        return error_frame(code, "the chat service is unavailable, try again shortly")
    return error_frame(code, "the answer failed; try again")


class ChatRelay:
    """Streams chat turns from ChatService to a client."""

    def __init__(self, stub: chat_pb2_grpc.ChatServiceStub, turn_timeout_s: float) -> None:
        self.stub = stub
        self.turn_timeout_s = turn_timeout_s

    def request(
        self,
        principal: principal_pb2.Principal,
        readable: Sequence[str],
        ask: ChatAsk,
    ) -> chat_pb2.ConverseRequest:
        """The Converse request for ``ask``; raises when its knowledge bases are not allowed."""
        kb_ids = choose_kb_ids(ask.kb_ids, readable)
        return chat_pb2.ConverseRequest(
            conversation_id=ask.conversation_id,
            principal=explicit_principal(principal, readable),
            kb_ids=kb_ids,
            message=ask.message,
            skip_cache=ask.skip_cache,
        )

    async def stream(self, request: chat_pb2.ConverseRequest) -> AsyncGenerator[RelayFrame, None]:
        """The turn's frames in ChatService's order, ending with ``summary`` or ``error``.

        Closing the iterator early (the client pressed stop or went away) cancels the gRPC
        stream, so ChatService stops generating.
        """
        call = self.stub.Converse(request, timeout=self.turn_timeout_s)
        try:
            async for event in call:
                frame = frame_of(event)
                if frame is not None:
                    yield frame
        except grpc.aio.AioRpcError as error:
            yield frame_of_rpc_error(error)
        finally:
            call.cancel()
