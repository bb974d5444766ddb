"""Entry point of the retriever: indexes embedded chunks and serves search over gRPC."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, connect_with_retry, serve

from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch, opensearch_probe


def create_app(settings: RetrieverSettings) -> FastAPI:
    """The retriever process: OpenSearch, the broker, and its gRPC server."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    opensearch = create_opensearch(settings.opensearch)
    probe = opensearch_probe(opensearch)
    runtime.add_resource(
        "opensearch",
        start=lambda: connect_with_retry("opensearch", probe),
        stop=opensearch.close,
        probe=probe,
    )
    runtime.use_kafka(settings.kafka)
    runtime.serve_grpc(settings, registrars=[], service_names=[])
    return runtime.http_app("ragchat retriever")


def run() -> None:
    """Start the retriever (console script ``ragchat-retriever``)."""
    settings = RetrieverSettings()
    serve(create_app(settings), settings)
