"""The process around a service: its dependencies, their start and stop order, and the HTTP app
with ``/healthz``, ``/readyz`` and ``/metrics``.

A service's ``main.py`` declares what it uses, in dependency order::

    runtime = ServiceRuntime.create("scraper", settings)
    engine = runtime.use_postgres(settings.postgres, migrations)
    broker = runtime.use_kafka(settings.kafka)
    app = runtime.http_app("ragchat scraper")

Resources start in that order (each waits for its server with retries) and stop in reverse. On
SIGTERM uvicorn finishes requests in flight and then runs the app's lifespan exit: a gRPC server
drains its calls, the broker lets handlers in flight finish and commit, and only then are the
database and Redis connections closed, so no message is acknowledged without its work being done.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential

from ragchat_common import db
from ragchat_common.broker import create_broker, kafka_probe
from ragchat_common.health import Probe, Readiness, health_router
from ragchat_common.logs import configure_logging, get_logger
from ragchat_common.metrics import HttpMetrics
from ragchat_common.redis_client import create_redis, redis_probe
from ragchat_common.rpc import GrpcPeer, GrpcServer, Registrar, start_grpc_server
from ragchat_common.settings import (
    GrpcServiceSettings,
    KafkaSettings,
    PostgresSettings,
    RedisSettings,
    ServiceSettings,
)
from ragchat_common.telemetry import configure_tracing

log = get_logger(__name__)
T = TypeVar("T")


async def connect_with_retry(
    name: str, connect: Callable[[], Awaitable[T]], within_s: float = 60.0
) -> T:
    """Call ``connect`` until it succeeds or ``within_s`` seconds passed, logging each failure.

    Processes start in any order, so a dependency that is still starting is waited for; one that
    stays down makes the process exit with the last error instead of running half-connected.
    """
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(within_s),
        wait=wait_exponential(multiplier=0.2, max=5),
        reraise=True,
        before_sleep=lambda state: log.warning(
            "dependency not reachable yet",
            dependency=name,
            attempt=state.attempt_number,
            error=repr(state.outcome.exception()) if state.outcome else None,
        ),
    ):
        with attempt:
            return await connect()
    raise AssertionError("unreachable: AsyncRetrying returns or re-raises")


@dataclass(frozen=True)
class Migrations:
    """A service's Alembic migration folder and the schema it owns."""

    directory: Path
    schema: str


@dataclass
class Resource:
    """Something a service connects to at start-up and releases at shutdown."""

    name: str
    start: Callable[[], Awaitable[object]] | None
    stop: Callable[[], Awaitable[object]]


@dataclass
class ServiceRuntime:
    """Dependencies, telemetry and readiness of one service process."""

    service: str
    settings: ServiceSettings
    registry: CollectorRegistry
    tracer_provider: TracerProvider
    readiness: Readiness = field(default_factory=Readiness)
    resources: list[Resource] = field(default_factory=list)
    # Set on SIGTERM/SIGINT; aborts a start-up still waiting for its dependencies.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def create(cls, service: str, settings: ServiceSettings) -> ServiceRuntime:
        """Set up JSON logging and tracing for ``service`` and an empty metrics registry."""
        configure_logging(service, settings.telemetry.log_level)
        return cls(
            service=service,
            settings=settings,
            registry=CollectorRegistry(),
            tracer_provider=configure_tracing(service, settings.telemetry),
        )

    @property
    def startup_timeout_s(self) -> float:
        """How long start-up waits for one dependency."""
        return self.settings.startup_timeout_s

    def add_resource(
        self,
        name: str,
        *,
        start: Callable[[], Awaitable[object]] | None,
        stop: Callable[[], Awaitable[object]],
        probe: Probe | None = None,
    ) -> None:
        """Register a dependency; its probe, when given, becomes part of ``/readyz``.

        ``start`` may be ``None`` for a dependency that connects lazily.
        """
        self.resources.append(Resource(name, start, stop))
        if probe is not None:
            self.readiness.probes[name] = probe

    def use_postgres(
        self, settings: PostgresSettings, migrations: Migrations | None = None
    ) -> AsyncEngine:
        """An engine to PostgreSQL; the service's migrations are applied at start-up."""
        engine = db.create_engine(settings)

        async def start() -> None:
            await connect_with_retry("postgres", db.postgres_probe(engine), self.startup_timeout_s)
            if migrations is not None:
                config = db.alembic_config(migrations.directory, settings, migrations.schema)
                await db.upgrade(config)

        self.add_resource(
            "postgres", start=start, stop=engine.dispose, probe=db.postgres_probe(engine)
        )
        return engine

    def use_redis(self, settings: RedisSettings) -> Redis:
        """A Redis client, checked at start-up."""
        client = create_redis(settings)
        probe = redis_probe(client)
        self.add_resource(
            "redis",
            start=lambda: connect_with_retry("redis", probe, self.startup_timeout_s),
            stop=client.aclose,
            probe=probe,
        )
        return client

    def use_kafka(self, settings: KafkaSettings) -> KafkaBroker:
        """The Kafka broker. Add subscribers before the app starts; they start with it."""
        broker = create_broker(self.service, settings, self.registry, self.tracer_provider)
        self.add_resource(
            "kafka",
            start=lambda: connect_with_retry("kafka", broker.start, self.startup_timeout_s),
            stop=broker.stop,
            probe=kafka_probe(broker),
        )
        return broker

    def use_grpc_peer(self, name: str, target: str) -> GrpcPeer:
        """Another service's gRPC server; its health is part of ``/readyz``.

        Not waited for at start-up: services call each other both ways, and readiness tells when
        the peer is reachable.
        """
        peer = GrpcPeer(name, target)
        self.add_resource(name, start=peer.open, stop=peer.close, probe=peer.probe)
        return peer

    def serve_grpc(
        self,
        settings: GrpcServiceSettings,
        registrars: list[Registrar],
        service_names: list[str],
    ) -> None:
        """Serve gRPC on the service's gRPC port, started last and stopped first."""
        running: list[GrpcServer] = []

        async def start() -> None:
            server = await start_grpc_server(
                settings.grpc_host,
                settings.grpc_port,
                registrars,
                service_names,
                # The instrumentation package ships no type hints.
                interceptors=[aio_server_interceptor(tracer_provider=self.tracer_provider)],  # type: ignore[no-untyped-call]
            )
            running.append(server)
            log.info("grpc listening", host=settings.grpc_host, port=server.port)

        async def stop() -> None:
            for server in running:
                await server.stop(settings.grpc_grace_s)

        self.add_resource("grpc", start=start, stop=stop)

    async def _start(self, resource: Resource) -> None:
        """Start one resource, unless a stop request arrives first."""
        if resource.start is None:
            return
        starting = asyncio.ensure_future(resource.start())
        stop_requested = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait(
            {starting, stop_requested}, return_when=asyncio.FIRST_COMPLETED
        )
        stop_requested.cancel()
        if starting not in done:
            starting.cancel()
            raise StartupAborted(f"stop requested while waiting for {resource.name}")
        starting.result()

    @asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        """Start resources in order; stop the started ones in reverse, whatever happens."""
        started: list[Resource] = []
        try:
            for resource in self.resources:
                await self._start(resource)
                started.append(resource)
                log.info("dependency ready", dependency=resource.name)
            yield
        finally:
            for resource in reversed(started):
                try:
                    await resource.stop()
                    log.info("dependency stopped", dependency=resource.name)
                except Exception:
                    log.exception("dependency failed to stop cleanly", dependency=resource.name)

    def http_app(self, title: str) -> FastAPI:
        """The service's FastAPI app with health, readiness, metrics and tracing."""
        app = FastAPI(title=title, lifespan=self.lifespan)
        app.state.runtime = self
        app.middleware("http")(HttpMetrics(self.registry).middleware)
        app.include_router(health_router(self.readiness, self.registry))
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.tracer_provider, excluded_urls="healthz,readyz,metrics"
        )
        return app


class StartupAborted(Exception):
    """A stop was requested before every dependency was reached."""


class _Server(uvicorn.Server):
    """uvicorn's server, telling the runtime when a stop signal arrives.

    uvicorn only looks at its exit flag once start-up is over; a service still waiting for a
    dependency would otherwise ignore SIGTERM until its start-up timeout.
    """

    def __init__(self, config: uvicorn.Config, runtime: ServiceRuntime) -> None:
        super().__init__(config)
        self.runtime = runtime
        self.loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.runtime.stopping.set)


def serve(app: FastAPI) -> None:
    """Run a service app made by :meth:`ServiceRuntime.http_app` until SIGTERM or SIGINT."""
    runtime: ServiceRuntime = app.state.runtime
    settings = runtime.settings
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    _Server(config, runtime).run()
