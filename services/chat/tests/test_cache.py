"""The answer cache on a real Redis: what the key depends on, and that a Redis that does not
answer turns into a miss instead of a failed turn."""

from uuid import UUID

import pytest
from ragchat_chat.domain.cache import AnswerCache, cache_key
from ragchat_chat.domain.model import Answer, Citation
from ragchat_common.redis_client import create_redis
from ragchat_common.settings import RedisSettings

from .harness import free_port

pytestmark = pytest.mark.integration

KB_A = UUID("11111111-1111-4111-8111-111111111111")
KB_B = UUID("22222222-2222-4222-8222-222222222222")
ANSWER = Answer(
    text="Run pip install [1].",
    citations=(Citation(1, "c1", "https://site.test/pip", "Pip", "snippet"),),
    declined=False,
    provider="extractive",
    prompt_tokens=10,
    completion_tokens=5,
)


def test_the_key_follows_question_kbs_index_version_and_provider() -> None:
    key = cache_key("How do I install pip?", [KB_A, KB_B], "v1", "extractive")

    assert key == cache_key("  how do i INSTALL pip ", [KB_B, KB_A], "v1", "extractive")
    assert key != cache_key("How do I upgrade pip?", [KB_A, KB_B], "v1", "extractive")
    assert key != cache_key("How do I install pip?", [KB_A], "v1", "extractive")
    assert key != cache_key("How do I install pip?", [KB_A, KB_B], "v2", "extractive")
    assert key != cache_key("How do I install pip?", [KB_A, KB_B], "v1", "openai")


async def test_an_answer_comes_back_whole(redis_settings: RedisSettings, unique: str) -> None:
    redis = create_redis(redis_settings)
    try:
        cache = AnswerCache(redis, ttl_s=60)
        key = cache_key(f"question {unique}", [KB_A], "v1", "extractive")
        assert await cache.get(key) is None

        await cache.put(key, ANSWER)

        assert await cache.get(key) == ANSWER
        assert 0 < await redis.ttl(key) <= 60
    finally:
        await redis.aclose()


async def test_a_redis_that_does_not_answer_is_a_miss() -> None:
    redis = create_redis(RedisSettings(url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        cache = AnswerCache(redis, ttl_s=60)
        await cache.put("chat:answer:x", ANSWER)
        assert await cache.get("chat:answer:x") is None
    finally:
        await redis.aclose()
