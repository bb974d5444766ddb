"""``/ws/chat``: chat over a WebSocket, one turn at a time, streamed from ChatService.

Protocol (client -> server): ``{"type":"auth","token"|"api_key"}`` first unless an
``Authorization`` / ``X-API-Key`` header came with the upgrade; then
``{"type":"ask","message","conversation_id"?,"kb_ids"?,"skip_cache"?}``, ``{"type":"stop"}``,
``{"type":"pong"}``. Server -> client: ``ready``, then per turn ``token``... ``citation``...
and ``summary`` (or ``error``), and ``ping`` every heartbeat interval. Resuming a conversation is
an ``ask`` with its id (on this or a new socket). ``stop`` cancels the gRPC stream, so ChatService
stops generating, and ends the turn with an ``error`` frame whose code is ``stopped``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import grpc
from fastapi import APIRouter, WebSocket
from ragchat.v1 import chat_pb2, principal_pb2
from ragchat_common.logs import get_logger
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ragchat_gateway.api.chat import chat_relay, prepare_turn
from ragchat_gateway.api.deps import ApiError, GatewayContext, api_error_from_grpc, context_of
from ragchat_gateway.api.ws_auth import (
    CLOSE_INTERNAL,
    CLOSE_TIMEOUT,
    CLOSE_UNAUTHENTICATED,
    Frame,
    Heartbeat,
    SocketClosed,
    SocketSender,
    authenticate,
    close_with,
    credentials_in_url,
    receive_frame,
)
from ragchat_gateway.domain.chat_relay import ChatAsk
from ragchat_gateway.domain.rate_limits import RateLimited

log = get_logger(__name__)

router = APIRouter(tags=["chat"])

MAX_MESSAGE_CHARS = 4000


def parse_ask(frame: Frame) -> ChatAsk:
    """The ask of an ``ask`` frame; :class:`ValueError` with the reason when malformed."""
    message = frame.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ValueError("ask needs a non-empty message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise ValueError(f"message longer than {MAX_MESSAGE_CHARS} characters")
    conversation_id = frame.get("conversation_id") or ""
    if not isinstance(conversation_id, str):
        raise ValueError("conversation_id must be a string")
    kb_ids = frame.get("kb_ids") or []
    if not isinstance(kb_ids, list) or not all(isinstance(k, str) for k in kb_ids):
        raise ValueError("kb_ids must be a list of strings")
    return ChatAsk(
        message=message,
        conversation_id=conversation_id,
        kb_ids=tuple(kb_ids),
        skip_cache=bool(frame.get("skip_cache", False)),
    )


@dataclass
class ChatSocket:
    """One authenticated chat socket: its caller, its running turn and its heartbeat."""

    websocket: WebSocket
    context: GatewayContext
    principal: principal_pb2.Principal
    sender: SocketSender
    turn: asyncio.Task[None] | None = None
    # True from an accepted ask until its last frame is sent.
    running: bool = False

    async def error(self, code: str, message: str) -> None:
        """Send an ``error`` frame."""
        await self.sender.send({"type": "error", "code": code, "message": message})

    async def ask(self, frame: Frame) -> None:
        """Start a turn for an ``ask`` frame, unless one is running or the ask is refused."""
        if self.running:
            await self.error("busy", "a turn is running; send stop first")
            return
        try:
            ask = parse_ask(frame)
            # Each ask counts against the caller's budget, like a REST request.
            await self.context.rate_limiter.check_principal(self.principal)
            request = await prepare_turn(self.context, self.principal, ask)
        except ValueError as exc:
            await self.error("invalid_request", str(exc))
            return
        except RateLimited as limited:
            await self.error("rate_limited", str(limited))
            return
        except ApiError as exc:
            await self.error(exc.code, exc.message)
            return
        except grpc.aio.AioRpcError as exc:
            failed = api_error_from_grpc(exc)
            await self.error(failed.code, failed.message)
            return
        self.running = True
        self.turn = asyncio.create_task(self._stream(request), name="ws-chat-turn")

    async def _stream(self, request: chat_pb2.ConverseRequest) -> None:
        try:
            async for relayed in chat_relay(self.context).stream(request):
                if relayed.kind in ("summary", "error"):
                    # The client may ask again as soon as it reads the last frame, before this
                    # task has wound down.
                    self.running = False
                await self.sender.send({"type": relayed.kind, **relayed.data})
        finally:
            self.running = False

    async def stop(self) -> None:
        """Cancel the running turn (and with it the gRPC stream)."""
        if not self.running or self.turn is None:
            return
        self.turn.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.turn
        await self.error("stopped", "the answer was stopped")

    async def close(self) -> None:
        """Cancel whatever still runs when the socket ends."""
        if self.turn is not None and not self.turn.done():
            self.turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.turn


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    """Chat over a WebSocket (see the module docstring for the protocol)."""
    context = context_of(websocket.app)
    await websocket.accept()
    if credentials_in_url(websocket):
        await close_with(
            websocket, CLOSE_UNAUTHENTICATED, "credentials in the URL are refused; use auth frame"
        )
        return
    sender = SocketSender(websocket)
    heartbeat_task: asyncio.Task[None] | None = None
    session: ChatSocket | None = None
    try:
        principal = await authenticate(websocket, context)
        session = ChatSocket(websocket, context, principal, sender)
        await sender.send({"type": "ready"})

        async def timed_out() -> None:
            await close_with(websocket, CLOSE_TIMEOUT, "heartbeat missed")

        heartbeat = Heartbeat(sender, context.settings.ws_ping_interval_s, timed_out)
        heartbeat_task = asyncio.create_task(heartbeat.run(), name="ws-chat-heartbeat")
        while True:
            frame = await receive_frame(websocket)
            kind = frame.get("type")
            if kind == "ask":
                await session.ask(frame)
            elif kind == "stop":
                await session.stop()
            elif kind == "pong":
                heartbeat.pong()
            else:
                await session.error("invalid_request", f"unknown frame type {kind!r}")
    except SocketClosed as closed:
        await close_with(websocket, closed.code, closed.reason)
    except WebSocketDisconnect:
        pass
    except RuntimeError as exc:
        # Receiving after the heartbeat closed the socket is expected; anything else is logged.
        if websocket.application_state is not WebSocketState.DISCONNECTED:
            log.exception("websocket failed", error=repr(exc))
            await close_with(websocket, CLOSE_INTERNAL, "internal error")
    except Exception:
        log.exception("websocket failed")
        await close_with(websocket, CLOSE_INTERNAL, "internal error")
    finally:
        if heartbeat_task is not None:
            heartbeat_task.cancel()
        if session is not None:
            await session.close()
