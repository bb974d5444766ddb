"""Live events for ``/ws/events``, delivered by whichever gateway replica holds the socket.

One consumer group of the whole deployment reads ``crawl.progress`` and publishes each event to
the Redis pub/sub channel of its tenant (``gateway:events:<tenant_id>``); every replica's
:class:`EventHub` subscribes to the channels of the tenants it has sockets for and hands each
message to those sockets, which keep only the knowledge bases their user may read. So an event
is read from Kafka once and reaches every replica, whichever one its user is connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from ragchat_common.events import CrawlProgress
from ragchat_common.logs import get_logger
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

log = get_logger(__name__)

CHANNEL_PREFIX = "gateway:events:"

EventFrame = dict[str, Any]


def tenant_channel(tenant_id: str) -> str:
    """The pub/sub channel of one tenant's live events."""
    return f"{CHANNEL_PREFIX}{tenant_id}"


def progress_frame(event: CrawlProgress) -> EventFrame:
    """The ``/ws/events`` frame of a crawl progress event."""
    return {"type": "crawl.progress", **event.model_dump(mode="json")}


async def publish_progress(redis: Redis, event: CrawlProgress) -> int:
    """Publish ``event`` to its tenant's channel; returns how many replicas were listening."""
    payload = json.dumps(progress_frame(event))
    return int(await redis.publish(tenant_channel(str(event.tenant_id)), payload))


@dataclass(frozen=True)
class EventFilter:
    """Which events one socket may see: its tenant's, and of those only readable kbs' events.

    ``all_kbs`` principals (owners, admins) see every knowledge base of their tenant, including
    ones created after they connected.
    """

    tenant_id: str
    readable_kb_ids: frozenset[str] = frozenset()
    all_kbs: bool = False

    def allows(self, frame: EventFrame) -> bool:
        """Whether the frame belongs to this tenant and a knowledge base the socket may read."""
        if str(frame.get("tenant_id", "")) != self.tenant_id:
            return False
        return self.all_kbs or str(frame.get("kb_id", "")) in self.readable_kb_ids


@dataclass
class _Listener:
    queue: asyncio.Queue[EventFrame]
    filter: EventFilter


@dataclass
class EventHub:
    """One Redis pub/sub connection per gateway process, fanned out to its local sockets.

    A socket per pub/sub connection would cost a Redis connection per browser tab; the hub
    subscribes a tenant's channel while at least one local socket of that tenant listens.
    A slow socket's queue drops its oldest event: progress events are snapshots, and a newer
    one supersedes what was dropped.
    """

    redis: Redis
    queue_size: int = 256
    _pubsub: PubSub | None = None
    _pump: asyncio.Task[None] | None = None
    _listeners: dict[str, set[int]] = field(default_factory=dict)
    _by_id: dict[int, _Listener] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @asynccontextmanager
    async def listen(self, event_filter: EventFilter) -> AsyncIterator[asyncio.Queue[EventFrame]]:
        """A queue of the events ``event_filter`` allows, for as long as the context is open."""
        listener = _Listener(asyncio.Queue(self.queue_size), event_filter)
        key = id(listener)
        channel = tenant_channel(event_filter.tenant_id)
        async with self._lock:
            self._by_id[key] = listener
            members = self._listeners.setdefault(channel, set())
            members.add(key)
            if len(members) == 1:
                await self._subscribe(channel)
        try:
            yield listener.queue
        finally:
            async with self._lock:
                self._by_id.pop(key, None)
                members = self._listeners.get(channel, set())
                members.discard(key)
                if not members:
                    self._listeners.pop(channel, None)
                    if self._pubsub is not None:
                        await self._pubsub.unsubscribe(channel)

    async def _subscribe(self, channel: str) -> None:
        if self._pubsub is None:
            self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(channel)
        if self._pump is None:
            # Started after the first subscribe: a pub/sub without a connection cannot be read.
            self._pump = asyncio.create_task(self._run(self._pubsub), name="event-hub")

    async def _run(self, pubsub: PubSub) -> None:
        """Read messages until stopped; a lost connection is re-established by redis-py."""
        while True:
            try:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event hub lost Redis, retrying")
                await asyncio.sleep(1.0)
                continue
            if message is not None and message.get("type") == "message":
                self.dispatch(str(message["channel"]), str(message["data"]))

    def dispatch(self, channel: str, payload: str) -> None:
        """Hand one published event to every local listener of ``channel`` that may see it."""
        try:
            frame: EventFrame = json.loads(payload)
        except ValueError:
            log.warning("event hub dropped a malformed event", channel=channel)
            return
        for key in self._listeners.get(channel, ()):
            listener = self._by_id[key]
            if listener.filter.allows(frame):
                _offer(listener.queue, frame)

    async def close(self) -> None:
        """Stop reading and close the pub/sub connection."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        if self._pubsub is not None:
            # redis-py's PubSub.aclose carries no annotations.
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None


def _offer(queue: asyncio.Queue[EventFrame], frame: EventFrame) -> None:
    """Put ``frame``, dropping the oldest queued frame when the queue is full."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(frame)


def readable_filter(tenant_id: str, readable: Iterable[str], all_kbs: bool) -> EventFilter:
    """The filter of a socket from its principal's tenant and readable knowledge bases."""
    return EventFilter(tenant_id=tenant_id, readable_kb_ids=frozenset(readable), all_kbs=all_kbs)
