"""Redis answers round trips and delivers pub/sub messages across clients."""

import asyncio

import pytest
from ragchat_common.redis_client import create_redis
from ragchat_common.settings import RedisSettings

pytestmark = pytest.mark.integration


async def test_round_trip_with_expiry(redis_settings: RedisSettings, unique: str) -> None:
    client = create_redis(redis_settings)
    try:
        await client.set(f"test:{unique}", "value", ex=30)
        assert await client.get(f"test:{unique}") == "value"
        assert 0 < await client.ttl(f"test:{unique}") <= 30
        await client.delete(f"test:{unique}")
        assert await client.get(f"test:{unique}") is None
    finally:
        await client.aclose()


async def test_pubsub_reaches_a_subscriber_on_another_connection(
    redis_settings: RedisSettings, unique: str
) -> None:
    publisher, subscriber = create_redis(redis_settings), create_redis(redis_settings)
    channel = f"test:events:{unique}"
    pubsub = subscriber.pubsub()
    try:
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
        assert await publisher.publish(channel, "crawl 42 done") == 1
        async with asyncio.timeout(5):
            while (message := await pubsub.get_message(timeout=1)) is None:
                pass
        assert message["data"] == "crawl 42 done"
    finally:
        await pubsub.aclose()
        await publisher.aclose()
        await subscriber.aclose()
