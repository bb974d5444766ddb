"""Entry point of the gateway: the public HTTP API in front of every other service."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve

from ragchat_gateway.settings import GatewaySettings
from ragchat_gateway.store import MIGRATIONS


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app, wired to its stores, the broker and the gRPC services behind it."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    runtime.use_postgres(settings.postgres, MIGRATIONS)
    runtime.use_redis(settings.redis)
    runtime.use_kafka(settings.kafka)
    runtime.use_grpc_peer("auth", settings.auth_target)
    runtime.use_grpc_peer("retriever", settings.retriever_target)
    runtime.use_grpc_peer("chat", settings.chat_target)
    return runtime.http_app("ragchat gateway")


def run() -> None:
    """Start the gateway (console script ``ragchat-gateway``)."""
    settings = GatewaySettings()
    serve(create_app(settings))
