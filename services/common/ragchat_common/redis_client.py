"""Redis client factory and readiness probe."""

from __future__ import annotations

from redis.asyncio import Redis

from ragchat_common.health import Probe
from ragchat_common.settings import RedisSettings


def create_redis(settings: RedisSettings) -> Redis:
    """An async Redis client that decodes responses to ``str``."""
    return Redis.from_url(settings.url, decode_responses=True)


def redis_probe(client: Redis) -> Probe:
    """Readiness probe: Redis answers PING."""

    async def probe() -> str | None:
        await client.ping()
        return None

    return probe
