"""Entry point of the retriever: indexes embedded chunks and serves search over gRPC."""

from fastapi import FastAPI
from opensearchpy import AsyncOpenSearch
from ragchat_common.runtime import ServiceRuntime, connect_with_retry, serve

from ragchat_retriever.api.search import SERVICE_NAME, RetrieverService, SearchMetrics, register
from ragchat_retriever.domain.indexer import ChunkIndexer, IndexerMetrics
from ragchat_retriever.domain.search import FieldBoosts
from ragchat_retriever.domain.searcher import ChunkSearcher, SearchTuning
from ragchat_retriever.encoders.loaded import QueryModels
from ragchat_retriever.handlers.chunks import subscribe_chunk_indexing
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch, opensearch_probe
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import ChunkIndexSpec, chunk_index_probe, ensure_chunk_index
from ragchat_retriever.store.knowledge_bases import KnowledgeBaseIndex
from ragchat_retriever.store.search import ChunkSearchStore


def use_opensearch(runtime: ServiceRuntime, client: AsyncOpenSearch, index: ChunkIndexSpec) -> None:
    """OpenSearch as a dependency: waited for at start, then the chunks index bootstrapped
    before the broker (and so the indexer) starts."""
    probe = opensearch_probe(client)

    async def start() -> None:
        await connect_with_retry("opensearch", probe)
        await ensure_chunk_index(client, index)

    runtime.add_resource("opensearch", start=start, stop=client.close, probe=probe)
    runtime.readiness.probes["chunk-index"] = chunk_index_probe(client, index)


def search_tuning(settings: RetrieverSettings) -> SearchTuning:
    """The ranking knobs of ``settings``."""
    return SearchTuning(
        default_k=settings.search_default_k,
        max_k=settings.search_max_k,
        candidates=settings.search_candidates,
        knn_beam=settings.search_knn_beam,
        max_chunks_per_page=settings.search_max_chunks_per_page,
        rrf_rank_constant=settings.search_rrf_rank_constant,
        bm25_weight=settings.search_rrf_bm25_weight,
        vector_weight=settings.search_rrf_vector_weight,
        boosts=FieldBoosts(
            title=settings.search_boost_title,
            heading_path=settings.search_boost_heading_path,
            text=settings.search_boost_text,
            image_text=settings.search_boost_image_text,
        ),
        snippet_chars=settings.search_snippet_chars,
    )


def create_searcher(
    settings: RetrieverSettings, opensearch: AsyncOpenSearch, models: QueryModels
) -> ChunkSearcher:
    """The searcher over the chunks alias; image mode only with image vectors and a CLIP model."""
    image_mode = settings.image_vectors and settings.clip_model_path is not None
    return ChunkSearcher(
        ChunkSearchStore(opensearch, settings.index_alias),
        text=models,
        image=models if image_mode else None,
        tuning=search_tuning(settings),
    )


def create_app(settings: RetrieverSettings) -> FastAPI:
    """The retriever process: OpenSearch and the chunks index, the indexer, its gRPC server."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    opensearch = create_opensearch(settings.opensearch, settings.opensearch_timeout_s)
    index = settings.chunk_index()
    use_opensearch(runtime, opensearch, index)
    broker = runtime.use_kafka(settings.kafka)
    indexer = ChunkIndexer(
        ChunkStore(opensearch, index.alias),
        settings.image_vectors,
        IndexerMetrics(runtime.registry),
    )
    subscribe_chunk_indexing(
        broker, indexer.index, settings, runtime.registry, settings.indexer_source()
    )
    models = QueryModels(
        settings.query_model_path,
        settings.clip_model_path,
        settings.device,
        settings.encoder_threads,
        settings.model_cache_dir,
    )
    runtime.add_resource("query-models", start=models.load, stop=models.unload, probe=models.probe)
    service = RetrieverService(
        create_searcher(settings, opensearch, models),
        settings.index_alias,
        settings.index_version,
        SearchMetrics(runtime.registry),
        kb_index=KnowledgeBaseIndex(opensearch, settings.index_alias),
        text_models=models,
    )
    runtime.serve_grpc(
        settings,
        registrars=[register(service)],
        service_names=[SERVICE_NAME],
    )
    return runtime.http_app("ragchat retriever")


def run() -> None:
    """Start the retriever (console script ``ragchat-retriever``)."""
    settings = RetrieverSettings()
    serve(create_app(settings))
