"""Per-host politeness: a bounded number of requests in flight, and a delay between requests.

The delay is kept in Redis, so every scraper replica spaces its requests to one host against the
same clock (Redis ``TIME``): each request takes the next free slot of its host atomically. The
concurrency bound is per replica (an asyncio semaphore per host): a cross-replica semaphore would
need leases for crashed holders, and the delay is what protects a small site.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

# Returns how many milliseconds the caller must wait for its slot, and books the slot after it.
_NEXT_SLOT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local booked = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now_ms, booked)
local delay = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + delay, 'PX', slot - now_ms + delay + 60000)
return slot - now_ms
"""


class HostPoliteness:
    """Turns to send a request to a host, shared across replicas through Redis."""

    def __init__(
        self, redis: Redis, per_host_concurrency: int, key_prefix: str = "scraper"
    ) -> None:
        self.redis = redis
        self.per_host_concurrency = per_host_concurrency
        self.key_prefix = key_prefix
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._script = redis.register_script(_NEXT_SLOT)

    def _semaphore(self, host: str) -> asyncio.Semaphore:
        if host not in self._semaphores:
            self._semaphores[host] = asyncio.Semaphore(self.per_host_concurrency)
        return self._semaphores[host]

    async def wait_for_slot(self, host: str, delay_s: float) -> float:
        """Book the next request slot of ``host`` ``delay_s`` after the last; wait for it."""
        if delay_s <= 0:
            return 0.0
        wait_ms = int(
            await self._script(
                keys=[f"{self.key_prefix}:host:{host}:next"], args=[int(delay_s * 1000)]
            )
        )
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        return wait_ms / 1000

    @asynccontextmanager
    async def turn(self, host: str, delay_s: float) -> AsyncIterator[None]:
        """Hold one of the host's concurrency slots, after waiting for its delay slot."""
        async with self._semaphore(host):
            await self.wait_for_slot(host, delay_s)
            yield
