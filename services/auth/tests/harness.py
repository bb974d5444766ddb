"""The real auth process (its app's start-up and shutdown) on a scratch database, serving
gRPC on a free port, and a client for it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from pydantic import SecretStr
from ragchat.v1 import auth_pb2, auth_pb2_grpc, principal_pb2
from ragchat_auth.main import create_app
from ragchat_auth.settings import AuthSettings
from ragchat_common.settings import PostgresSettings

OWNER_EMAIL = "owner@example.test"
OWNER_PASSWORD = "owner password 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AuthClient:
    """A stub to the running service, with the settings it was started with."""

    stub: auth_pb2_grpc.AuthServiceStub
    settings: AuthSettings

    async def login(
        self, email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD
    ) -> auth_pb2.Session:
        return await self.stub.Login(
            auth_pb2.LoginRequest(
                email=email,
                password=password,
                client=auth_pb2.ClientInfo(ip="203.0.113.7", user_agent="pytest"),
            )
        )

    async def owner(self) -> principal_pb2.Principal:
        return (await self.login()).principal


@asynccontextmanager
async def running_auth(settings: AuthSettings) -> AsyncIterator[AuthClient]:
    """Start the auth app as ``ragchat-auth`` would, yield a client, stop it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{settings.grpc_port}")
        try:
            yield AuthClient(auth_pb2_grpc.AuthServiceStub(channel), settings)
        finally:
            await channel.close()


def auth_settings(database: PostgresSettings, local_dir: Path, **overrides: object) -> AuthSettings:
    """Settings of an auth service on ``database`` with the test owner."""
    values: dict[str, object] = {
        "postgres": database,
        "grpc_port": free_port(),
        "bootstrap_email": OWNER_EMAIL,
        "bootstrap_password": SecretStr(OWNER_PASSWORD),
        "key_passphrase": SecretStr("test passphrase"),
        "local_dir": local_dir,
        **overrides,
    }
    return AuthSettings.model_validate(values)
