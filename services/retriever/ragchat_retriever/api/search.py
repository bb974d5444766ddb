"""``RetrieverService``: ``Search`` (protobuf in, :class:`ChunkSearcher` in the middle, protobuf
out), and for the gateway ``KnowledgeBaseStats``, ``DeleteKnowledgeBase`` and ``Embed``.

Refusals carry a status a caller can act on: INVALID_ARGUMENT for a request without knowledge
base ids or with a bad query or ``k``, FAILED_PRECONDITION for image mode where image vectors are
off, UNAVAILABLE while OpenSearch cannot answer (try again), INTERNAL when it refuses a query.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

import grpc
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError
from prometheus_client import CollectorRegistry, Counter, Histogram
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.logs import get_logger
from ragchat_common.rpc import Registrar

from ragchat_retriever.domain.search import (
    ChunkHit,
    EmptyScope,
    InvalidSearch,
    KbScope,
    SearchFilters,
    SearchMode,
)
from ragchat_retriever.domain.searcher import (
    ChunkSearcher,
    ImageSearchUnavailable,
    UnreadableImage,
    validated_search,
)
from ragchat_retriever.encoders.loaded import ModelsNotLoaded, QueryModels
from ragchat_retriever.store.index import version_of
from ragchat_retriever.store.knowledge_bases import KnowledgeBaseIndex
from ragchat_retriever.store.search import SearchFailed, SearchUnavailable

log = get_logger(__name__)

SERVICE_NAME = retriever_pb2.DESCRIPTOR.services_by_name["RetrieverService"].full_name

MODES = {
    retriever_pb2.SEARCH_MODE_UNSPECIFIED: SearchMode.HYBRID,
    retriever_pb2.SEARCH_MODE_HYBRID: SearchMode.HYBRID,
    retriever_pb2.SEARCH_MODE_BM25: SearchMode.BM25,
    retriever_pb2.SEARCH_MODE_VECTOR: SearchMode.VECTOR,
    retriever_pb2.SEARCH_MODE_IMAGE: SearchMode.IMAGE,
}


class SearchMetrics:
    """Searches by mode and outcome, and their latency, for ``/metrics``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.searches = Counter(
            "ragchat_search_requests_total",
            "Search requests by mode and outcome (ok or the gRPC status).",
            ["mode", "outcome"],
            registry=registry,
        )
        self.seconds = Histogram(
            "ragchat_search_duration_seconds",
            "Time to answer a search, query encoding included.",
            ["mode"],
            buckets=(0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5),
            registry=registry,
        )


def hit_message(hit: ChunkHit) -> retriever_pb2.SearchHit:
    """A :class:`ChunkHit` as a protobuf ``SearchHit``."""
    return retriever_pb2.SearchHit(
        chunk_id=hit.chunk_id,
        page_id=hit.page_id,
        score=hit.score,
        url=hit.url,
        title=hit.title,
        heading_path=list(hit.heading_path),
        snippet=hit.snippet,
        text=hit.text,
        images=[
            retriever_pb2.ImageRef(src=i.src, alt=i.alt, caption=i.caption) for i in hit.images
        ],
        kb_id=hit.kb_id,
    )


def request_filters(message: retriever_pb2.SearchFilters) -> SearchFilters:
    """The caller's optional filters."""
    return SearchFilters(
        content_types=tuple(message.content_types),
        languages=tuple(message.languages),
        url_prefix=message.url_prefix,
    )


def register(service: RetrieverService) -> Registrar:
    """Adds ``service`` to a gRPC server (for :meth:`ServiceRuntime.serve_grpc`)."""

    def add(server: grpc.aio.Server) -> None:
        # The generated registration function has no type hints.
        retriever_pb2_grpc.add_RetrieverServiceServicer_to_server(service, server)  # type: ignore[no-untyped-call]

    return add


# Limits of one Embed call: it is for short texts (questions), not for indexing documents.
MAX_EMBED_TEXTS = 256
MAX_EMBED_CHARS = 4000
MAX_STATS_KBS = 1000


class RetrieverService(retriever_pb2_grpc.RetrieverServiceServicer):
    """Serves ``Search`` from a :class:`ChunkSearcher`; the knowledge-base RPCs from
    ``kb_index`` and ``Embed`` from ``text_models`` (UNIMPLEMENTED when not given)."""

    def __init__(
        self,
        searcher: ChunkSearcher,
        alias: str,
        index_version: int,
        metrics: SearchMetrics,
        *,
        kb_index: KnowledgeBaseIndex | None = None,
        text_models: QueryModels | None = None,
    ) -> None:
        self.searcher = searcher
        self.alias = alias
        self.index_version = index_version
        self.metrics = metrics
        self.kb_index = kb_index
        self.text_models = text_models

    async def _refuse(
        self, context: grpc.aio.ServicerContext, mode: SearchMode, code: grpc.StatusCode, why: str
    ) -> NoReturn:
        self.metrics.searches.labels(mode.value, code.name.lower()).inc()
        log.info("search refused", mode=mode.value, code=code.name, reason=why)
        await context.abort(code, why)
        # grpc's type stubs do not mark abort as never returning; it always raises.
        raise AssertionError("context.abort returned")

    def _version(self, hits: list[ChunkHit]) -> str:
        """The version of the index the hits came from (the configured one when none came)."""
        versions = {version_of(hit.index, self.alias) for hit in hits}
        found = [v for v in versions if v is not None]
        return str(max(found) if found else self.index_version)

    async def Search(
        self,
        request: retriever_pb2.SearchRequest,
        context: grpc.aio.ServicerContext[
            retriever_pb2.SearchRequest, retriever_pb2.SearchResponse
        ],
    ) -> retriever_pb2.SearchResponse:
        """Answer one search, restricted to the knowledge bases the request names."""
        started = time.perf_counter()
        mode = MODES.get(request.mode)
        if mode is None:
            await self._refuse(
                context, SearchMode.HYBRID, grpc.StatusCode.INVALID_ARGUMENT, "unknown mode"
            )
        try:
            scope = KbScope(tuple(request.kb_ids), request.tenant_id or None)
            search = validated_search(
                scope,
                mode,
                request.k,
                request.query,
                request.image,
                request_filters(request.filters),
                self.searcher.tuning,
            )
            hits = await self.searcher.search(search)
        except (EmptyScope, InvalidSearch, UnreadableImage) as exc:
            await self._refuse(context, mode, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except ImageSearchUnavailable as exc:
            await self._refuse(context, mode, grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        except SearchUnavailable as exc:
            await self._refuse(context, mode, grpc.StatusCode.UNAVAILABLE, str(exc))
        except SearchFailed as exc:
            log.error("search failed", mode=mode.value, error=str(exc))
            await self._refuse(
                context, mode, grpc.StatusCode.INTERNAL, "the index refused the query"
            )
        took = time.perf_counter() - started
        self.metrics.searches.labels(mode.value, "ok").inc()
        self.metrics.seconds.labels(mode.value).observe(took)
        return retriever_pb2.SearchResponse(
            hits=[hit_message(hit) for hit in hits],
            took_ms=took * 1000,
            index_version=self._version(hits),
        )

    async def _index(self, context: grpc.aio.ServicerContext[Any, Any]) -> KnowledgeBaseIndex:
        if self.kb_index is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "no knowledge-base index wired")
            raise AssertionError("context.abort returned")
        return self.kb_index

    async def KnowledgeBaseStats(
        self,
        request: retriever_pb2.KnowledgeBaseStatsRequest,
        context: grpc.aio.ServicerContext[
            retriever_pb2.KnowledgeBaseStatsRequest, retriever_pb2.KnowledgeBaseStatsResponse
        ],
    ) -> retriever_pb2.KnowledgeBaseStatsResponse:
        """Pages, chunks and newest crawl time of each named knowledge base."""
        index = await self._index(context)
        if not request.kb_ids or len(request.kb_ids) > MAX_STATS_KBS:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"name 1 to {MAX_STATS_KBS} knowledge bases"
            )
        try:
            stats = await index.stats(list(request.kb_ids))
        except (OpenSearchConnectionError, ConnectionTimeout, TransportError) as exc:
            log.warning("knowledge base stats failed", error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the index cannot answer now")
        return retriever_pb2.KnowledgeBaseStatsResponse(
            stats=[
                retriever_pb2.KnowledgeBaseStat(
                    kb_id=stat.kb_id,
                    pages=stat.pages,
                    chunks=stat.chunks,
                    last_indexed_at_ms=int(stat.last_indexed_at.timestamp() * 1000)
                    if stat.last_indexed_at
                    else 0,
                )
                for stat in stats
            ]
        )

    async def DeleteKnowledgeBase(
        self,
        request: retriever_pb2.DeleteKnowledgeBaseRequest,
        context: grpc.aio.ServicerContext[
            retriever_pb2.DeleteKnowledgeBaseRequest, retriever_pb2.DeleteKnowledgeBaseResponse
        ],
    ) -> retriever_pb2.DeleteKnowledgeBaseResponse:
        """Remove every chunk of one knowledge base from the index."""
        index = await self._index(context)
        if not request.kb_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "kb_id is required")
        try:
            deleted = await index.delete(request.kb_id)
        except (OpenSearchConnectionError, ConnectionTimeout, TransportError) as exc:
            log.warning("knowledge base deletion failed", kb_id=request.kb_id, error=str(exc))
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the index cannot delete now")
        log.info("knowledge base deleted from index", kb_id=request.kb_id, chunks=deleted)
        return retriever_pb2.DeleteKnowledgeBaseResponse(deleted_chunks=deleted)

    async def Embed(
        self,
        request: retriever_pb2.EmbedRequest,
        context: grpc.aio.ServicerContext[retriever_pb2.EmbedRequest, retriever_pb2.EmbedResponse],
    ) -> retriever_pb2.EmbedResponse:
        """all-MiniLM-L6-v2 vectors (unit length, 384-d) of short texts, in request order."""
        if self.text_models is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "no text model wired")
            raise AssertionError("context.abort returned")
        texts = list(request.texts)
        if not texts or len(texts) > MAX_EMBED_TEXTS:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"send 1 to {MAX_EMBED_TEXTS} texts"
            )
        if any(len(text) > MAX_EMBED_CHARS for text in texts):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"texts are limited to {MAX_EMBED_CHARS} chars"
            )
        try:
            vectors = await self.text_models.embed_many(texts)
        except ModelsNotLoaded as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        return retriever_pb2.EmbedResponse(
            embeddings=[retriever_pb2.Embedding(values=vector) for vector in vectors]
        )
