"""The answer cache in Redis: a first question asked again over unchanged knowledge bases gets
the same answer without retrieval or a model.

The key is a hash of the normalised question, the sorted knowledge base ids and their index
version (see :meth:`Retrieval.index_version`), so a re-crawl that changes the index makes old
entries unreachable; they expire with the TTL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from uuid import UUID

from ragchat_common.logs import get_logger
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ragchat_chat.domain.model import Answer, Citation
from ragchat_chat.domain.text import normalise_question

log = get_logger(__name__)

PREFIX = "chat:answer:"


def cache_key(question: str, kb_ids: Sequence[UUID], index_version: str, provider: str) -> str:
    """The Redis key of an answer (the provider is part of it: answers differ by provider)."""
    material = "\n".join(
        [normalise_question(question), ",".join(sorted(map(str, kb_ids))), index_version, provider]
    )
    return PREFIX + hashlib.sha256(material.encode()).hexdigest()


class AnswerCache:
    """Answers by key, with a time to live."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def get(self, key: str) -> Answer | None:
        """The cached answer, or ``None`` (also while Redis cannot answer: the cache only saves
        work, so its failure must not fail the turn)."""
        try:
            raw = await self.redis.get(key)
        except RedisError as exc:
            log.warning("answer cache unavailable", error=str(exc))
            return None
        if raw is None:
            return None
        data = json.loads(raw)
        return Answer(
            text=data["text"],
            citations=tuple(Citation.from_json(c) for c in data["citations"]),
            declined=bool(data["declined"]),
            provider=data["provider"],
            prompt_tokens=int(data["prompt_tokens"]),
            completion_tokens=int(data["completion_tokens"]),
        )

    async def put(self, key: str, answer: Answer) -> None:
        """Keep the answer for the TTL (a Redis failure is logged, not raised)."""
        data = {
            "text": answer.text,
            "citations": [c.to_json() for c in answer.citations],
            "declined": answer.declined,
            "provider": answer.provider,
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
        }
        try:
            await self.redis.set(key, json.dumps(data), ex=self.ttl_s)
        except RedisError as exc:
            log.warning("answer not cached", error=str(exc))
