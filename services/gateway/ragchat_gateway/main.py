"""Entry point of the gateway: the public HTTP API in front of every other service."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from ragchat_common import db
from ragchat_common.runtime import ServiceRuntime, serve
from starlette.types import ASGIApp, Receive, Scope, Send

from ragchat_gateway.api import ROUTERS
from ragchat_gateway.api.deps import (
    GatewayContext,
    RequestContextMiddleware,
    install_error_handlers,
)
from ragchat_gateway.api.rate_limits import RateLimitMiddleware
from ragchat_gateway.api.web import router as web_router
from ragchat_gateway.domain.event_relay import EventHub
from ragchat_gateway.domain.rate_limits import RateLimiter, RateLimitPolicy
from ragchat_gateway.handlers import WIRINGS
from ragchat_gateway.settings import GatewaySettings
from ragchat_gateway.store import MIGRATIONS


class CorsByPath:
    """CORS for the web app's origins, and for any origin (without cookies) on widget paths.

    A widget runs on customers' sites we cannot list here; its API key carries the origins it may
    be used from, and auth checks them on every call, so the browser-side CORS check is open on
    those paths only.
    """

    def __init__(self, app: ASGIApp, settings: GatewaySettings) -> None:
        self.widget_paths = tuple(settings.widget_paths)
        self.app_cors = CORSMiddleware(
            app,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "X-Trace-ID", "Retry-After"],
            max_age=600,
        )
        self.widget_cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_credentials=False,
            allow_methods=["POST"],
            allow_headers=["Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "X-Trace-ID", "Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        widget = scope["type"] == "http" and scope.get("path", "").startswith(self.widget_paths)
        cors = self.widget_cors if widget else self.app_cors
        await cors(scope, receive, send)


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app, wired to its stores, the broker and the gRPC services behind it."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    engine = runtime.use_postgres(settings.postgres, MIGRATIONS)
    redis = runtime.use_redis(settings.redis)
    broker = runtime.use_kafka(settings.kafka)
    context = GatewayContext(
        settings=settings,
        sessions=db.session_factory(engine),
        redis=redis,
        broker=broker,
        auth_peer=runtime.use_grpc_peer("auth", settings.auth_target),
        retriever_peer=runtime.use_grpc_peer("retriever", settings.retriever_target),
        chat_peer=runtime.use_grpc_peer("chat", settings.chat_target),
        rate_limiter=RateLimiter(redis, RateLimitPolicy.of(settings)),
        event_hub=EventHub(redis),
    )
    runtime.add_resource("rate-limits", start=None, stop=context.rate_limiter.close)
    for wire in WIRINGS:
        wire(runtime, context)
    app = runtime.http_app("ragchat gateway")
    app.state.context = context
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    # The web app's catch-all (SPA fallback) comes after every other route.
    app.include_router(web_router)
    # The last added runs first: every response, CORS preflights included, gets the ids.
    # Inside CORS, so a browser can read a 429.
    app.add_middleware(RateLimitMiddleware, limiter=context.rate_limiter)
    app.add_middleware(CorsByPath, settings=settings)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    return app


def run() -> None:
    """Start the gateway (console script ``ragchat-gateway``)."""
    settings = GatewaySettings()
    serve(create_app(settings))
