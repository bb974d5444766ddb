"""The real chat process (its app's start-up and shutdown) on real PostgreSQL, Redis and Kafka,
next to two stand-ins for what cannot run inside a unit of chat's tests:

- :class:`FixedCorpusRetriever`, a real gRPC ``RetrieverService`` over a fixed set of passages.
  The real retriever needs OpenSearch, the embedding model and a crawled site; chat's own tests
  only need hits with known text and scores, and a kb filter that behaves like the real one.
  ``tests/e2e/test_chat_stack.py`` runs chat against the real retriever.
- :class:`OpenAIStandIn`, a local HTTP server speaking the OpenAI chat completions protocol with
  real server-sent events, because this machine cannot reach OpenAI (or any model server): it lets
  the official SDK's streaming path run for real.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client import CollectorRegistry
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2, retriever_pb2, retriever_pb2_grpc
from ragchat_chat.main import create_app
from ragchat_chat.settings import ChatSettings
from ragchat_common.rpc import start_grpc_server
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings

KB_DOCS = "11111111-1111-4111-8111-111111111111"
KB_BILLING = "22222222-2222-4222-8222-222222222222"
TENANT = "33333333-3333-4333-8333-333333333333"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class CorpusPassage:
    """One chunk of the fixed corpus."""

    kb_id: str
    chunk_id: str
    url: str
    title: str
    text: str


CORPUS = (
    CorpusPassage(
        KB_DOCS,
        "docs-install",
        "https://docs.example.test/installing",
        "Installing packages",
        "Use pip to install packages from the Python Package Index. Run python -m pip install "
        "requests to install the requests package into the active environment. Pip resolves "
        "the dependencies of the package and installs them too.",
    ),
    CorpusPassage(
        KB_DOCS,
        "docs-upgrade",
        "https://docs.example.test/upgrading",
        "Upgrading packages",
        "To upgrade an installed package, run python -m pip install --upgrade followed by the "
        "package name. Pip removes the old version of the package before it installs the new "
        "one.",
    ),
    CorpusPassage(
        KB_DOCS,
        "docs-venv",
        "https://docs.example.test/venv",
        "Virtual environments",
        "A virtual environment is created with python -m venv and a directory name. Activate "
        "the virtual environment before installing packages so they stay isolated from the "
        "system.",
    ),
    CorpusPassage(
        KB_BILLING,
        "billing-refunds",
        "https://billing.example.test/refunds",
        "Refund policy",
        "Refunds are issued within 14 days of purchase. Contact the billing team with your "
        "order number to request a refund of your subscription.",
    ),
)

WORD = re.compile(r"[a-z0-9]+")
IGNORED = frozenset(
    "a an the to of and or is are do does how i what my with for it in on".split()  # noqa: SIM905
)


def terms(text: str) -> set[str]:
    """Lower-case words minus a few stop words (the fixed corpus needs nothing cleverer)."""
    return {w for w in WORD.findall(text.lower()) if w not in IGNORED}


@dataclass
class FixedCorpusRetriever(retriever_pb2_grpc.RetrieverServiceServicer):
    """``RetrieverService`` over :data:`CORPUS`: word-overlap ranking, kb-scoped like the real one.

    Scores are in the range of the real hybrid (reciprocal rank fusion) scores, 0 to ~0.033.
    """

    searches: list[retriever_pb2.SearchRequest] = field(default_factory=list)
    # kb id -> (chunks, last_indexed_at_ms), as KnowledgeBaseStats reports them.
    # Each instance is an index of its own (a random indexing time), so answers cached in the
    # shared Redis by one test are never served to another.
    stats: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {
            kb: (3, 1_700_000_000_000 + random.randrange(10**9)) for kb in (KB_DOCS, KB_BILLING)
        }
    )

    async def Search(self, request: Any, context: Any) -> retriever_pb2.SearchResponse:
        if not request.kb_ids:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "kb_ids is required")
        self.searches.append(request)
        wanted = terms(request.query)
        scored = []
        for passage in CORPUS:
            if passage.kb_id not in request.kb_ids:
                continue
            overlap = len(wanted & terms(passage.title + " " + passage.text))
            if overlap:
                scored.append((overlap / max(len(wanted), 1) * 0.033, passage))
        scored.sort(key=lambda pair: pair[0], reverse=True)
        return retriever_pb2.SearchResponse(
            hits=[
                retriever_pb2.SearchHit(
                    chunk_id=p.chunk_id,
                    page_id=p.chunk_id,
                    score=score,
                    url=p.url,
                    title=p.title,
                    snippet=f"<mark>{p.text[:80]}</mark>",
                    text=p.text,
                    kb_id=p.kb_id,
                )
                for score, p in scored[: request.k or 5]
            ],
            took_ms=1.0,
            index_version="1",
        )

    async def KnowledgeBaseStats(
        self, request: Any, context: Any
    ) -> retriever_pb2.KnowledgeBaseStatsResponse:
        return retriever_pb2.KnowledgeBaseStatsResponse(
            stats=[
                retriever_pb2.KnowledgeBaseStat(
                    kb_id=kb, chunks=self.stats[kb][0], last_indexed_at_ms=self.stats[kb][1]
                )
                for kb in request.kb_ids
                if kb in self.stats
            ]
        )

    def reindex(self, kb_id: str) -> None:
        """What a re-crawl does to the stats: a newer indexing time."""
        chunks, at = self.stats[kb_id]
        self.stats[kb_id] = (chunks, at + 60_000)


@asynccontextmanager
async def running_retriever(servicer: FixedCorpusRetriever) -> AsyncIterator[str]:
    """Serve the fixed-corpus retriever on a free port; yields its target."""
    server = await start_grpc_server(
        "127.0.0.1",
        0,
        # The generated registration function has no type hints.
        [lambda s: retriever_pb2_grpc.add_RetrieverServiceServicer_to_server(servicer, s)],  # type: ignore[no-untyped-call]
        ["ragchat.v1.RetrieverService"],
    )
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


# In a stand-in answer: send nothing more until the test says so.
HOLD = "<hold>"


@dataclass
class OpenAIStandIn:
    """Answers chat completions the way an OpenAI-compatible server does, over real SSE.

    A streamed answer cites passage 1 of the prompt, or says it found nothing when the question
    contains "unknowable", or fails with HTTP 503 when it contains "overload", or when it contains
    "interrupt" sends its first sentence and holds the rest until :attr:`resume` is set (so a
    client can stop it mid-answer); a non-streamed call (query rewriting) answers
    :attr:`rewritten`.
    """

    rewritten: str = "How do I upgrade a package with pip?"
    # Answer rewriting requests with HTTP 500, as an overloaded server does.
    fail_rewrites: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    resume: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Any:
            body = await request.json()
            self.requests.append(body)
            if not body.get("stream"):
                if self.fail_rewrites:
                    return JSONResponse({"error": {"message": "overloaded"}}, status_code=500)
                return JSONResponse(self._completion(self.rewritten))
            last = body["messages"][-1]["content"]
            if "overload" in last:
                return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
            if "unknowable" in last:
                answer = ["I could not", " find this", " on the site."]
            elif "interrupt" in last:
                answer = ["The site", " explains", " it [", "1].", HOLD, " It also says more [2]."]
            else:
                answer = ["The site", " explains", " it in", " its first passage", " [", "1]."]
            return StreamingResponse(self._events(answer), media_type="text/event-stream")

        return app

    @staticmethod
    def _completion(text: str) -> dict[str, Any]:
        return {
            "id": "cmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "stand-in",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    async def _events(self, pieces: list[str]) -> AsyncIterator[str]:
        base = {"id": "chunk-1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        for piece in pieces:
            if piece == HOLD:
                await self.resume.wait()
                continue
            chunk = {
                **base,
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            yield f"data: {json.dumps(chunk)}\n\n"
        done = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        yield f"data: {json.dumps(done)}\n\n"
        usage = {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 321, "completion_tokens": 7, "total_tokens": 328},
        }
        yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"


@asynccontextmanager
async def running_openai(stand_in: OpenAIStandIn) -> AsyncIterator[str]:
    """Serve the stand-in on a free port; yields its base URL (``.../v1``)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(stand_in.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        await task


def chat_settings(
    postgres: PostgresSettings,
    redis: RedisSettings,
    kafka: KafkaSettings,
    retriever_target: str,
    turn_topic: str,
    **overrides: Any,
) -> ChatSettings:
    """Settings of a chat process on this test's database, topic and retriever (the extractive
    provider unless told otherwise, whatever ``CHAT_PROVIDER`` says). The decline threshold is
    off unless a test sets it: the calibrated default fits real fused scores, not this corpus's."""
    overrides.setdefault("provider", "extractive")
    overrides.setdefault("decline_min_score", 0.0)
    return ChatSettings(
        grpc_port=free_port(),
        http_port=free_port(),
        retriever_target=retriever_target,
        turn_topic=turn_topic,
        postgres=postgres,
        redis=redis,
        kafka=kafka,
        startup_timeout_s=30.0,
        **overrides,
    )


@dataclass
class ChatClient:
    """A stub to the running chat service."""

    stub: chat_pb2_grpc.ChatServiceStub
    settings: ChatSettings
    # The process's metrics registry (what /metrics serves).
    registry: CollectorRegistry

    async def ask(
        self,
        principal: principal_pb2.Principal,
        message: str,
        kb_ids: list[str] | None = None,
        conversation_id: str = "",
        skip_cache: bool = False,
    ) -> list[chat_pb2.ConverseEvent]:
        """Every event of one Converse call, in order."""
        call = self.stub.Converse(
            chat_pb2.ConverseRequest(
                conversation_id=conversation_id,
                principal=principal,
                kb_ids=[KB_DOCS] if kb_ids is None else kb_ids,
                message=message,
                skip_cache=skip_cache,
            )
        )
        return [event async for event in call]


@asynccontextmanager
async def running_chat(settings: ChatSettings) -> AsyncIterator[ChatClient]:
    """Start the chat app as ``ragchat-chat`` would, yield a client, stop it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{settings.grpc_port}")
        try:
            stub = chat_pb2_grpc.ChatServiceStub(channel)  # type: ignore[no-untyped-call]
            yield ChatClient(stub, settings, app.state.runtime.registry)
        finally:
            await channel.close()


def principal(
    subject: str = "user-1",
    kb_ids: tuple[str, ...] = (KB_DOCS,),
    role: str = "viewer",
    tenant_id: str = TENANT,
    api_key_scopes: tuple[str, ...] | None = None,
) -> principal_pb2.Principal:
    """A principal as the gateway passes it (kb ids already expanded)."""
    return principal_pb2.Principal(
        subject=subject,
        tenant_id=tenant_id,
        kind=principal_pb2.PRINCIPAL_KIND_API_KEY
        if api_key_scopes is not None
        else principal_pb2.PRINCIPAL_KIND_USER,
        role=role,
        readable_kb_ids=list(kb_ids),
        scopes=list(api_key_scopes or ()),
        label=subject,
    )


def tokens(events: list[chat_pb2.ConverseEvent]) -> str:
    """The answer text of a turn."""
    return "".join(e.token for e in events if e.WhichOneof("event") == "token")


def citations(events: list[chat_pb2.ConverseEvent]) -> list[chat_pb2.Citation]:
    """The citations of a turn."""
    return [e.citation for e in events if e.WhichOneof("event") == "citation"]


def summary(events: list[chat_pb2.ConverseEvent]) -> chat_pb2.TurnSummary:
    """The final summary of a turn."""
    assert events[-1].WhichOneof("event") == "summary"
    return events[-1].summary
