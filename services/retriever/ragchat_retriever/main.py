"""Entry point of the retriever: indexes embedded chunks and serves search over gRPC."""

from fastapi import FastAPI
from opensearchpy import AsyncOpenSearch
from ragchat_common.runtime import ServiceRuntime, connect_with_retry, serve

from ragchat_retriever.domain.indexer import ChunkIndexer, IndexerMetrics
from ragchat_retriever.handlers.chunks import subscribe_chunk_indexing
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch, opensearch_probe
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import ChunkIndexSpec, chunk_index_probe, ensure_chunk_index


def use_opensearch(runtime: ServiceRuntime, client: AsyncOpenSearch, index: ChunkIndexSpec) -> None:
    """OpenSearch as a dependency: waited for at start, then the chunks index bootstrapped
    before the broker (and so the indexer) starts."""
    probe = opensearch_probe(client)

    async def start() -> None:
        await connect_with_retry("opensearch", probe)
        await ensure_chunk_index(client, index)

    runtime.add_resource("opensearch", start=start, stop=client.close, probe=probe)
    runtime.readiness.probes["chunk-index"] = chunk_index_probe(client, index)


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
    runtime.serve_grpc(settings, registrars=[], service_names=[])
    return runtime.http_app("ragchat retriever")


def run() -> None:
    """Start the retriever (console script ``ragchat-retriever``)."""
    settings = RetrieverSettings()
    serve(create_app(settings))
