"""A gateway served by uvicorn in the test's event loop, on real PostgreSQL, Redis and Kafka, with
the real auth service as a process, in front of a scripted ChatService.

The scripted ChatService (:mod:`tests.harness.scripted_chat`) is a real grpc.aio server replaying
a fixed stream and recording what the gateway sent it: the relay's tests are about the gateway
(what reaches ChatService, the order and shape of what reaches the client, cancellation), and a
scripted stream makes those exact and fast. The real ChatService (which needs a retriever, an
index and a model) runs behind the gateway in ``tests/e2e/test_gateway_chat.py``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from ragchat.v1 import auth_pb2, auth_pb2_grpc, principal_pb2
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings
from ragchat_gateway.main import create_app
from ragchat_gateway.settings import GatewaySettings
from ragchat_gateway.store.tables import KnowledgeBase
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.harness.pipeline import ServiceProcess

OWNER_EMAIL = "owner@relay.test"
OWNER_PASSWORD = "relay owner password 1"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running_auth(database: PostgresSettings, workdir: Path) -> AsyncIterator[str]:
    """The real auth service (``ragchat-auth``) on ``database``; yields its gRPC target."""
    grpc_port, http_port = free_port(), free_port()
    env = {
        **os.environ,
        "POSTGRES_HOST": database.host,
        "POSTGRES_PORT": str(database.port),
        "POSTGRES_USER": database.user,
        "POSTGRES_PASSWORD": database.password.get_secret_value(),
        "POSTGRES_DB": database.db,
        "AUTH_GRPC_PORT": str(grpc_port),
        "AUTH_HTTP_PORT": str(http_port),
        "AUTH_BOOTSTRAP_EMAIL": OWNER_EMAIL,
        "AUTH_BOOTSTRAP_PASSWORD": OWNER_PASSWORD,
        "AUTH_KEY_PASSPHRASE": "relay test passphrase",
        "RAGCHAT_LOCAL_DIR": str(workdir),
    }
    process = ServiceProcess("auth", env, http_port, workdir / "auth.log")
    process.start()
    try:
        await process.wait_ready(within_s=120)
        yield f"127.0.0.1:{grpc_port}"
    finally:
        process.stop(within_s=20)


def gateway_settings(
    database: PostgresSettings,
    redis: RedisSettings,
    kafka: KafkaSettings,
    suffix: str,
    auth_target: str,
    chat_target: str,
    **overrides: Any,
) -> GatewaySettings:
    """Settings of a test gateway on its own port, topics and consumer groups."""
    values: dict[str, Any] = {
        "http_port": free_port(),
        "postgres": database,
        "redis": redis,
        "kafka": kafka,
        "auth_target": auth_target,
        # Retrieval is not used by these tests; the peer is only probed by /readyz.
        "retriever_target": "127.0.0.1:1",
        "chat_target": chat_target,
        "crawl_progress_topic": f"crawl.progress.{suffix}",
        "chat_turn_topic": f"chat.turn.{suffix}",
        "url_submitted_topic": f"url.submitted.{suffix}",
        "consumer_group_prefix": f"gateway-{suffix}",
        **overrides,
    }
    return GatewaySettings.model_validate(values)


@asynccontextmanager
async def serving_gateway(settings: GatewaySettings) -> AsyncIterator[str]:
    """The gateway app (its real start-up and shutdown) behind uvicorn; yields its base URL."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=settings.http_port,
        log_config=None,
        access_log=False,
        ws_ping_interval=None,
    )
    server = uvicorn.Server(config)
    # The test owns the process's signals; uvicorn must not install its handlers.
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.1)
        if task.done():
            task.result()
        assert server.started, "gateway did not start"
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Member:
    """A user of a tenant, with a fresh access token."""

    user_id: str
    tenant_id: str
    token: str


@dataclass
class Accounts:
    """Tenants, users, knowledge bases and keys made through the real auth service."""

    auth: auth_pb2_grpc.AuthServiceStub
    database: PostgresSettings

    async def login(self, email: str, password: str) -> Member:
        session = await self.auth.Login(auth_pb2.LoginRequest(email=email, password=password))
        return Member(session.principal.subject, session.principal.tenant_id, session.access_token)

    async def owner(self) -> Member:
        return await self.login(OWNER_EMAIL, OWNER_PASSWORD)

    async def register(self, organisation: str) -> tuple[Member, str]:
        """A new tenant and its owner; returns the owner and the email."""
        email = f"owner-{uuid.uuid4().hex[:8]}@relay.test"
        session = await self.auth.Register(
            auth_pb2.RegisterRequest(
                organisation_name=organisation, email=email, password=OWNER_PASSWORD
            )
        )
        member = Member(
            session.principal.subject, session.principal.tenant_id, session.access_token
        )
        return member, email

    async def principal(self, member: Member) -> principal_pb2.Principal:
        reply = await self.auth.VerifyToken(auth_pb2.VerifyTokenRequest(token=member.token))
        return reply.principal

    async def knowledge_base(self, owner: Member, name: str) -> str:
        """A knowledge base of the owner's tenant (a row of the gateway's table, as the
        knowledge-base routes write it), announced to auth."""
        kb = KnowledgeBase(tenant_id=uuid.UUID(owner.tenant_id), name=name)
        kb_id = str(kb.id)
        engine = create_async_engine(self.database.async_url())
        try:
            async with AsyncSession(engine) as session:
                session.add(kb)
                await session.commit()
        finally:
            await engine.dispose()
        await self.auth.KnowledgeBaseCreated(
            auth_pb2.KnowledgeBaseEvent(actor=await self.principal(owner), kb_id=kb_id)
        )
        return kb_id

    async def member(self, owner: Member, role: str, kb_ids: list[str]) -> Member:
        """A user of the owner's tenant with ``role``, granted ``kb_ids``."""
        actor = await self.principal(owner)
        email = f"{role}-{uuid.uuid4().hex[:8]}@relay.test"
        invitation = await self.auth.CreateInvitation(
            auth_pb2.CreateInvitationRequest(actor=actor, email=email, role=role)
        )
        session = await self.auth.AcceptInvitation(
            auth_pb2.AcceptInvitationRequest(token=invitation.token, password=OWNER_PASSWORD)
        )
        for kb_id in kb_ids:
            await self.auth.SetKnowledgeBaseGrant(
                auth_pb2.SetKnowledgeBaseGrantRequest(
                    actor=actor, user_id=session.principal.subject, kb_id=kb_id, granted=True
                )
            )
        return await self.login(email, OWNER_PASSWORD)

    async def widget_key(self, owner: Member, kb_ids: list[str], origins: list[str]) -> str:
        """A chat-only widget key on ``kb_ids`` usable from ``origins``; returns the secret."""
        reply = await self.auth.CreateApiKey(
            auth_pb2.CreateApiKeyRequest(
                actor=await self.principal(owner),
                name=f"widget-{uuid.uuid4().hex[:6]}",
                kind="widget",
                scopes=["chat"],
                kb_ids=kb_ids,
                allowed_origins=origins,
            )
        )
        return str(reply.secret)


async def sse_events(response: httpx.Response) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of a ``text/event-stream`` response, in order."""
    events: list[tuple[str, str]] = []
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and data:
            events.append((event, data))
            event, data = "message", ""
    return events
