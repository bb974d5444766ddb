"""grpc.aio server and client helpers.

Every server carries the standard ``grpc.health.v1.Health`` service and server reflection, so
``grpcurl`` and Kubernetes gRPC probes work against any service without extra code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

Registrar = Callable[[grpc.aio.Server], None]
"""Adds one servicer to a server, e.g. ``lambda s: add_FooServicer_to_server(Foo(), s)``."""


@dataclass
class GrpcServer:
    """A started grpc.aio server and its health servicer."""

    server: grpc.aio.Server
    health: health.aio.HealthServicer
    port: int

    async def set_serving(self, serving: bool) -> None:
        """Report every service as SERVING (or NOT_SERVING while draining)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        await self.health.set("", status)

    async def stop(self, grace_s: float) -> None:
        """Refuse new calls, let calls in flight finish for up to ``grace_s`` seconds."""
        await self.set_serving(False)
        await self.server.stop(grace_s)


async def start_grpc_server(
    host: str,
    port: int,
    registrars: Sequence[Registrar],
    service_names: Sequence[str],
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> GrpcServer:
    """Start a server on ``host:port`` (port 0 picks a free one) with health and reflection.

    ``service_names`` are the full names of the registered services, e.g.
    ``ragchat.v1.RetrieverService``; they are published through reflection.
    """
    server = grpc.aio.server(interceptors=list(interceptors))
    for register in registrars:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [
            *service_names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    running = GrpcServer(server=server, health=health_servicer, port=bound)
    await running.set_serving(True)
    return running


@dataclass
class GrpcPeer:
    """Another service this process calls over gRPC.

    The channel opens at start-up on the running event loop (a grpc.aio channel belongs to the
    loop it was created on), so create stubs from :attr:`channel` when handling a request.
    """

    name: str
    target: str
    timeout_s: float = 2.0
    _channel: grpc.aio.Channel | None = None

    @property
    def channel(self) -> grpc.aio.Channel:
        """The open channel; only valid between start-up and shutdown."""
        if self._channel is None:
            raise RuntimeError(f"gRPC channel to {self.name} is not open")
        return self._channel

    async def open(self) -> None:
        """Open an insecure channel (TLS is terminated by the mesh or ingress in a cluster)."""
        self._channel = grpc.aio.insecure_channel(self.target)

    async def close(self) -> None:
        """Close the channel, cancelling calls still in flight."""
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def probe(self) -> str | None:
        """Readiness probe: the peer reports SERVING on the standard health service."""
        stub = health_pb2_grpc.HealthStub(self.channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=self.timeout_s)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise ConnectionError(f"health status {reply.status}")
        return None
