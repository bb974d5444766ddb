"""A scripted ``ChatService``: a real grpc.aio server that replays one fixed turn.

It stands in for ChatService where the test or benchmark is about what sits in front of it (the
gateway's relay): the stream is exact and known (tokens, one citation, a summary), optionally
paced, and every request is recorded, so the order and shape of what reaches a client and what
reached ChatService can be checked without a retriever, an index or a model. The real
ChatService runs behind the gateway in ``tests/e2e/test_gateway_chat.py``.

Its conversation RPCs keep the conversations its ``Converse`` made, visible to their owner within
the knowledge bases the request's principal may read, as ChatService does.

As a process (for ``make bench-api``)::

    python -m tests.harness.scripted_chat --port 50090 --tokens 20 --token-delay-ms 10
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import grpc
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2
from ragchat_common.rpc import GrpcServer, start_grpc_server

TOKENS = ("Press ", "the reset ", "button [1].")
CITATION = chat_pb2.Citation(
    number=1,
    chunk_id="chunk-reset",
    url="https://docs.example.test/reset",
    title="Resetting",
    snippet="Press the <em>reset</em> button",
    image_src="",
)


@dataclass
class StoredConversation:
    """A conversation the scripted service made."""

    id: str
    tenant_id: str
    owner: str
    kb_ids: list[str]
    messages: list[chat_pb2.Message] = field(default_factory=list)


@dataclass
class ScriptedChat(chat_pb2_grpc.ChatServiceServicer):
    """ChatService replaying a fixed turn.

    ``tokens`` are streamed ``token_delay_s`` apart; ``hold`` makes it wait after the first
    token until the caller cancels (``cancelled`` is set then).
    """

    tokens: tuple[str, ...] = TOKENS
    token_delay_s: float = 0.0
    hold: bool = False
    requests: list[chat_pb2.ConverseRequest] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    conversations: dict[str, StoredConversation] = field(default_factory=dict)
    feedback: list[chat_pb2.RecordFeedbackRequest] = field(default_factory=list)
    # A benchmark process does not keep what it was sent.
    record: bool = True

    async def Converse(self, request: Any, context: Any) -> AsyncIterator[chat_pb2.ConverseEvent]:
        if self.record:
            self.requests.append(request)
        if not request.kb_ids or not set(request.kb_ids) <= set(request.principal.readable_kb_ids):
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "kb not readable")
        started = time.perf_counter()
        conversation = self._conversation(request)
        for index, token in enumerate(self.tokens):
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield chat_pb2.ConverseEvent(token=token)
            if index == 0 and self.hold:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    self.cancelled.set()
                    raise
        yield chat_pb2.ConverseEvent(citation=CITATION)
        turn_id = str(uuid.uuid4())
        if self.record:
            conversation.messages.append(
                chat_pb2.Message(id=str(uuid.uuid4()), role="user", content=request.message)
            )
            conversation.messages.append(
                chat_pb2.Message(
                    id=turn_id,
                    role="assistant",
                    content="".join(self.tokens),
                    citations=[CITATION],
                )
            )
        yield chat_pb2.ConverseEvent(
            summary=chat_pb2.TurnSummary(
                conversation_id=conversation.id,
                turn_id=turn_id,
                retrieval_ms=1.0,
                first_token_ms=self.token_delay_s * 1000,
                total_ms=(time.perf_counter() - started) * 1000,
                prompt_tokens=10,
                completion_tokens=len(self.tokens),
                provider="scripted",
            )
        )

    def _conversation(self, request: chat_pb2.ConverseRequest) -> StoredConversation:
        existing = self.conversations.get(request.conversation_id)
        if existing is not None:
            return existing
        made = StoredConversation(
            id=request.conversation_id or str(uuid.uuid4()),
            tenant_id=request.principal.tenant_id,
            owner=request.principal.subject,
            kb_ids=list(request.kb_ids),
        )
        if self.record:
            self.conversations[made.id] = made
        return made

    def _visible(
        self, principal: principal_pb2.Principal, conversation_id: str
    ) -> StoredConversation | None:
        found = self.conversations.get(conversation_id)
        if (
            found is None
            or found.owner != principal.subject
            or not set(found.kb_ids) <= set(principal.readable_kb_ids)
        ):
            return None
        return found

    async def ListConversations(self, request: Any, context: Any) -> Any:
        wanted = set(request.kb_ids) or set(request.principal.readable_kb_ids)
        items = [
            self._summary(c)
            for c in self.conversations.values()
            if self._visible(request.principal, c.id) and set(c.kb_ids) & wanted
        ]
        return chat_pb2.ListConversationsResponse(conversations=items[: request.limit or 20])

    async def GetConversation(self, request: Any, context: Any) -> Any:
        found = self._visible(request.principal, request.conversation_id)
        if found is None:
            await _not_found(context)
        return chat_pb2.Conversation(summary=self._summary(found), messages=found.messages)

    async def DeleteConversation(self, request: Any, context: Any) -> Any:
        if self._visible(request.principal, request.conversation_id) is None:
            await _not_found(context)
        del self.conversations[request.conversation_id]
        return chat_pb2.DeleteConversationResponse()

    async def RecordFeedback(self, request: Any, context: Any) -> Any:
        if self._visible(request.principal, request.conversation_id) is None:
            await _not_found(context)
        self.feedback.append(request)
        return chat_pb2.RecordFeedbackResponse()

    @staticmethod
    def _summary(conversation: StoredConversation) -> chat_pb2.ConversationSummary:
        return chat_pb2.ConversationSummary(
            id=conversation.id,
            title="scripted",
            kb_ids=conversation.kb_ids,
            owner_subject=conversation.owner,
            created_at_ms=1_700_000_000_000,
            updated_at_ms=1_700_000_000_000,
            message_count=len(conversation.messages),
        )


async def _not_found(context: Any) -> NoReturn:
    await context.abort(grpc.StatusCode.NOT_FOUND, "conversation not found")
    # grpc.aio's abort always raises; this tells the type checker so.
    raise AssertionError("unreachable")


@asynccontextmanager
async def serving_chat(servicer: ScriptedChat, port: int = 0) -> AsyncIterator[str]:
    """Serve ``servicer`` (on a free port unless ``port``); yields its ``host:port``."""
    server: GrpcServer = await start_grpc_server(
        "127.0.0.1",
        port,
        [lambda s: chat_pb2_grpc.add_ChatServiceServicer_to_server(servicer, s)],
        ["ragchat.v1.ChatService"],
    )
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


async def _serve_forever(port: int, tokens: int, token_delay_s: float) -> None:
    servicer = ScriptedChat(
        tokens=tuple(f"word{i} " for i in range(tokens)),
        token_delay_s=token_delay_s,
        record=False,
    )
    async with serving_chat(servicer, port):
        await asyncio.Event().wait()


def main() -> None:
    """Run a scripted ChatService until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--token-delay-ms", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(_serve_forever(args.port, args.tokens, args.token_delay_ms / 1000))


if __name__ == "__main__":
    main()
