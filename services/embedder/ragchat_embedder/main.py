"""Entry point of the embedder: turns parsed pages into embedded chunks."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve

from ragchat_embedder.settings import EmbedderSettings


def create_app(settings: EmbedderSettings) -> FastAPI:
    """The embedder process and its broker."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    runtime.use_kafka(settings.kafka)
    return runtime.http_app("ragchat embedder")


def run() -> None:
    """Start the embedder (console script ``ragchat-embedder``)."""
    settings = EmbedderSettings()
    serve(create_app(settings))
