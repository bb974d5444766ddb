"""``/ws/events``: live crawl progress of the knowledge bases the caller may read.

Same authentication as ``/ws/chat`` (first frame or upgrade header, never the URL). After
``{"type":"ready"}`` the server sends ``{"type":"crawl.progress", ...CrawlProgress fields}`` for
the caller's tenant, filtered to its readable knowledge bases, and ``{"type":"ping"}`` heartbeats
the client answers with ``{"type":"pong"}``. Events come through Redis pub/sub
(``gateway:events:<tenant_id>``), so any replica delivers any event (``domain/event_relay.py``).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket
from ragchat.v1 import principal_pb2
from ragchat_common.logs import get_logger
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ragchat_gateway.api.deps import (
    ApiError,
    GatewayContext,
    authorize,
    context_of,
    readable_kb_ids,
)
from ragchat_gateway.api.ws_auth import (
    CLOSE_FORBIDDEN,
    CLOSE_INTERNAL,
    CLOSE_TIMEOUT,
    CLOSE_UNAUTHENTICATED,
    Heartbeat,
    SocketClosed,
    SocketSender,
    authenticate,
    close_with,
    credentials_in_url,
    receive_frame,
)
from ragchat_gateway.domain.event_relay import EventFilter, EventFrame

log = get_logger(__name__)

router = APIRouter(tags=["events"])


async def crawl_readable(context: GatewayContext, principal: principal_pb2.Principal) -> list[str]:
    """The readable knowledge bases whose crawls auth lets the caller watch (``crawl.read``)."""
    readable = await readable_kb_ids(context, principal)

    async def allowed(kb_id: str) -> bool:
        try:
            await authorize(context, principal, "crawl.read", kb_id)
        except ApiError:
            return False
        return True

    decisions = await asyncio.gather(*(allowed(kb) for kb in readable))
    return [kb for kb, ok in zip(readable, decisions, strict=True) if ok]


async def _forward(queue: asyncio.Queue[EventFrame], sender: SocketSender) -> None:
    while True:
        await sender.send(await queue.get())


@router.websocket("/ws/events")
async def events_socket(websocket: WebSocket) -> None:
    """Live events of the caller's readable knowledge bases (see the module docstring)."""
    context = context_of(websocket.app)
    await websocket.accept()
    if credentials_in_url(websocket):
        await close_with(
            websocket, CLOSE_UNAUTHENTICATED, "credentials in the URL are refused; use auth frame"
        )
        return
    sender = SocketSender(websocket)
    tasks: list[asyncio.Task[None]] = []
    try:
        principal = await authenticate(websocket, context)
        visible = await crawl_readable(context, principal)
        if not visible and not principal.all_kbs:
            raise SocketClosed(CLOSE_FORBIDDEN, "no knowledge base whose crawls you may read")
        event_filter = EventFilter(
            tenant_id=principal.tenant_id,
            readable_kb_ids=frozenset(visible),
            all_kbs=principal.all_kbs,
        )

        async def timed_out() -> None:
            await close_with(websocket, CLOSE_TIMEOUT, "heartbeat missed")

        heartbeat = Heartbeat(sender, context.settings.ws_ping_interval_s, timed_out)
        async with context.event_hub.listen(event_filter) as queue:
            # Subscribed before "ready", so a client that starts a crawl after it misses nothing.
            await sender.send({"type": "ready"})
            tasks.append(asyncio.create_task(heartbeat.run(), name="ws-events-heartbeat"))
            tasks.append(asyncio.create_task(_forward(queue, sender), name="ws-events-forward"))
            while True:
                frame = await receive_frame(websocket)
                if frame.get("type") == "pong":
                    heartbeat.pong()
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
        for task in tasks:
            task.cancel()
