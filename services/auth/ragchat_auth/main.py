"""Entry point of the auth service: identities, roles and access decisions over gRPC."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve

from ragchat_auth.settings import AuthSettings


def create_app(settings: AuthSettings) -> FastAPI:
    """The auth process: its database, its gRPC server, and the operations HTTP endpoints."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    runtime.use_postgres(settings.postgres)
    runtime.serve_grpc(settings, registrars=[], service_names=[])
    return runtime.http_app("ragchat auth")


def run() -> None:
    """Start the auth service (console script ``ragchat-auth``)."""
    settings = AuthSettings()
    serve(create_app(settings))
