"""Passages from the retriever: hybrid search over the request's knowledge bases, and their index
version (for the answer cache), through ``RetrieverService``."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import grpc
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.logs import get_logger

from ragchat_chat.providers.base import Passage

log = get_logger(__name__)


class RetrievalUnavailable(Exception):
    """The retriever did not answer; the caller may retry."""


@dataclass(frozen=True)
class Retrieved:
    """The passages found for a query, best first, numbered from 1."""

    passages: tuple[Passage, ...]
    took_ms: float


class Retrieval(Protocol):
    """What chat asks of the retriever."""

    async def search(
        self, query: str, tenant_id: UUID, kb_ids: Sequence[UUID], k: int
    ) -> Retrieved:
        """Hybrid search restricted to ``kb_ids``."""
        ...

    async def index_version(self, kb_ids: Sequence[UUID]) -> str | None:
        """A string that changes whenever the knowledge bases' indexed content changes;
        ``None`` when it cannot be known (then nothing is cached)."""
        ...


def passage_of(hit: retriever_pb2.SearchHit, number: int, max_chars: int) -> Passage:
    """A search hit as the prompt's passage ``number`` (its text cut to ``max_chars``)."""
    return Passage(
        number=number,
        chunk_id=hit.chunk_id,
        url=hit.url,
        title=hit.title,
        text=hit.text[:max_chars],
        snippet=hit.snippet,
        heading_path=tuple(hit.heading_path),
        image_src=hit.images[0].src if hit.images else "",
        score=hit.score,
    )


class RetrieverClient:
    """:class:`Retrieval` over the retriever's gRPC API."""

    def __init__(
        self, channel: Callable[[], grpc.aio.Channel], timeout_s: float, passage_chars: int
    ) -> None:
        # The channel opens on the serving loop at start-up, so it is looked up per call.
        self.channel = channel
        self.timeout_s = timeout_s
        self.passage_chars = passage_chars

    async def search(
        self, query: str, tenant_id: UUID, kb_ids: Sequence[UUID], k: int
    ) -> Retrieved:
        """Hybrid search; UNAVAILABLE and DEADLINE_EXCEEDED become :class:`RetrievalUnavailable`."""
        stub = retriever_pb2_grpc.RetrieverServiceStub(self.channel())  # type: ignore[no-untyped-call]
        started = time.perf_counter()
        try:
            reply = await stub.Search(
                retriever_pb2.SearchRequest(
                    query=query,
                    tenant_id=str(tenant_id),
                    kb_ids=[str(kb) for kb in kb_ids],
                    k=k,
                    mode=retriever_pb2.SEARCH_MODE_HYBRID,
                ),
                timeout=self.timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("retriever search failed", code=exc.code().name, details=exc.details())
            raise RetrievalUnavailable(f"search is unavailable: {exc.code().name}") from exc
        took_ms = (time.perf_counter() - started) * 1000
        passages = tuple(
            passage_of(hit, number, self.passage_chars)
            for number, hit in enumerate(reply.hits, start=1)
        )
        return Retrieved(passages=passages, took_ms=took_ms)

    async def index_version(self, kb_ids: Sequence[UUID]) -> str | None:
        """Chunk counts and newest indexing time per knowledge base, from KnowledgeBaseStats.

        A re-crawl that adds, changes or removes chunks changes one of them.
        """
        stub = retriever_pb2_grpc.RetrieverServiceStub(self.channel())  # type: ignore[no-untyped-call]
        try:
            reply = await stub.KnowledgeBaseStats(
                retriever_pb2.KnowledgeBaseStatsRequest(kb_ids=[str(kb) for kb in kb_ids]),
                timeout=self.timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("knowledge base stats unavailable", code=exc.code().name)
            return None
        stats = {s.kb_id: s for s in reply.stats}
        parts = []
        for kb in kb_ids:
            stat = stats.get(str(kb))
            parts.append(f"{kb}:{stat.chunks}:{stat.last_indexed_at_ms}" if stat else f"{kb}:-")
        return ",".join(parts)
