"""Authentication and heartbeats shared by the gateway's WebSockets (``/ws/chat``, ``/ws/events``).

A credential never travels in the URL (URLs end up in proxy and browser logs): a socket whose
query string carries one is closed with 4401. The client authenticates with an ``Authorization``
or ``X-API-Key`` header on the upgrade (non-browser clients) or with its first frame
``{"type": "auth", "token": ...}`` / ``{"type": "auth", "api_key": ...}`` (browsers cannot set
headers on a WebSocket). Close codes: 4400 bad frame, 4401 unauthenticated, 4403 forbidden,
4408 heartbeat or authentication timeout, 4429 rate limited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket
from ragchat.v1 import principal_pb2
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ragchat_gateway.api.deps import ApiError, GatewayContext, resolve_principal
from ragchat_gateway.domain.rate_limits import RateLimited

CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TIMEOUT = 4408
CLOSE_RATE_LIMITED = 4429
# The server failed (logged with the request id).
CLOSE_INTERNAL = 1011

# Query parameters that would carry a credential; their presence alone closes the socket.
CREDENTIAL_PARAMS = frozenset({"token", "access_token", "api_key", "apikey", "key", "jwt", "auth"})

Frame = dict[str, Any]


class SocketClosed(Exception):
    """The socket must be closed with ``code`` (the reason goes in the close frame)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def close_code_of(error: ApiError) -> int:
    """The WebSocket close code of an API error met while authenticating."""
    return {401: CLOSE_UNAUTHENTICATED, 403: CLOSE_FORBIDDEN, 429: CLOSE_RATE_LIMITED}.get(
        error.status, CLOSE_UNAUTHENTICATED
    )


def credentials_in_url(websocket: WebSocket) -> bool:
    """Whether the upgrade URL carries a credential-like query parameter."""
    return any(name.lower() in CREDENTIAL_PARAMS for name in websocket.query_params)


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


class SocketSender:
    """Sends JSON frames one at a time (the heartbeat and a turn may send concurrently)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, frame: Frame) -> None:
        """Send one frame; a socket already gone is ignored (its reader ends the session)."""
        async with self._lock:
            if self.websocket.application_state is not WebSocketState.CONNECTED:
                return
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.websocket.send_text(json.dumps(frame))


async def receive_frame(websocket: WebSocket) -> Frame:
    """The next JSON object frame; :class:`SocketClosed` 4400 for anything else."""
    text = await websocket.receive_text()
    try:
        frame = json.loads(text)
    except ValueError as exc:
        raise SocketClosed(CLOSE_BAD_FRAME, "frames must be JSON objects") from exc
    if not isinstance(frame, dict):
        raise SocketClosed(CLOSE_BAD_FRAME, "frames must be JSON objects")
    return frame


async def authenticate(websocket: WebSocket, context: GatewayContext) -> principal_pb2.Principal:
    """The caller of an accepted socket, from the upgrade headers or the first frame, counted
    against its rate limit.

    Raises :class:`SocketClosed` with 4401/4403/4408/4429 when it cannot be established.
    """
    origin = websocket.headers.get("origin")
    token = _bearer(websocket.headers.get("authorization"))
    api_key = websocket.headers.get("x-api-key")
    if not token and not api_key:
        try:
            frame = await asyncio.wait_for(
                receive_frame(websocket), context.settings.ws_auth_timeout_s
            )
        except TimeoutError as exc:
            raise SocketClosed(CLOSE_TIMEOUT, "no auth frame in time") from exc
        if frame.get("type") != "auth":
            raise SocketClosed(CLOSE_UNAUTHENTICATED, "the first frame must be an auth frame")
        token = _string(frame.get("token"))
        api_key = _string(frame.get("api_key"))
        if not token and not api_key:
            raise SocketClosed(CLOSE_UNAUTHENTICATED, "the auth frame needs a token or an api_key")
    try:
        principal = await resolve_principal(context, token=token, api_key=api_key, origin=origin)
        # A new socket counts against the caller's budget like a request.
        await context.rate_limiter.check_principal(principal)
    except ApiError as error:
        raise SocketClosed(close_code_of(error), error.message) from error
    except RateLimited as limited:
        raise SocketClosed(CLOSE_RATE_LIMITED, str(limited)) from limited
    return principal


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


async def close_with(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with an application code; a socket already closed is left alone."""
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code=code, reason=reason[:120])


@dataclass
class Heartbeat:
    """Sends ``{"type": "ping"}`` every ``interval_s``; a ping left unanswered until the next
    one closes the socket (4408), so dead peers do not hold sessions forever."""

    sender: SocketSender
    interval_s: float
    on_timeout: Callable[[], Awaitable[None]]
    _last_ping: float = 0.0
    _last_pong: float = field(default_factory=time.monotonic)

    def pong(self) -> None:
        """Record a pong from the client."""
        self._last_pong = time.monotonic()

    async def run(self) -> None:
        """Ping until cancelled or the peer misses a pong."""
        while True:
            await asyncio.sleep(self.interval_s)
            if self._last_ping and self._last_pong < self._last_ping:
                await self.on_timeout()
                return
            self._last_ping = time.monotonic()
            await self.sender.send({"type": "ping"})
