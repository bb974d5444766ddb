"""Entry point of the chat service: grounded, streamed answers over gRPC."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve

from ragchat_chat.settings import ChatSettings


def create_app(settings: ChatSettings) -> FastAPI:
    """The chat process: conversations, answer cache, broker, retriever channel, gRPC server."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    runtime.use_postgres(settings.postgres)
    runtime.use_redis(settings.redis)
    runtime.use_kafka(settings.kafka)
    runtime.use_grpc_peer("retriever", settings.retriever_target)
    runtime.serve_grpc(settings, registrars=[], service_names=[])
    return runtime.http_app("ragchat chat")


def run() -> None:
    """Start the chat service (console script ``ragchat-chat``)."""
    settings = ChatSettings()
    serve(create_app(settings))
