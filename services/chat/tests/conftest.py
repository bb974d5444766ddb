"""Fixtures of the chat tests: the fixed-corpus retriever, and chat processes beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from ragchat_chat.settings import ChatSettings, OpenAISettings
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings

from .harness import (
    ChatClient,
    FixedCorpusRetriever,
    OpenAIStandIn,
    chat_settings,
    running_chat,
    running_openai,
    running_retriever,
)


@pytest.fixture
def corpus_retriever() -> FixedCorpusRetriever:
    """The retriever servicer, to inspect the searches it got and to simulate re-crawls."""
    return FixedCorpusRetriever()


@pytest.fixture
async def retriever_target(corpus_retriever: FixedCorpusRetriever) -> AsyncIterator[str]:
    """The fixed-corpus retriever, serving."""
    async with running_retriever(corpus_retriever) as target:
        yield target


@pytest.fixture
def turn_topic(unique: str) -> str:
    """This test's own ``chat.turn`` topic."""
    return f"chat.turn.{unique}"


@pytest.fixture
def make_settings(
    scratch_database: PostgresSettings,
    redis_settings: RedisSettings,
    kafka: KafkaSettings,
    retriever_target: str,
    turn_topic: str,
) -> Callable[..., ChatSettings]:
    """Builds chat settings on this test's database, topic and retriever."""

    def make(**overrides: Any) -> ChatSettings:
        target = overrides.pop("retriever_target", retriever_target)
        return chat_settings(
            scratch_database, redis_settings, kafka, target, turn_topic, **overrides
        )

    return make


@pytest.fixture
def start_chat(
    make_settings: Callable[..., ChatSettings],
) -> Callable[..., AbstractAsyncContextManager[ChatClient]]:
    """Starts a chat process with setting overrides: ``async with start_chat(provider=...)``."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[ChatClient]:
        return running_chat(make_settings(**overrides))

    return start


@pytest.fixture
async def chat(
    start_chat: Callable[..., AbstractAsyncContextManager[ChatClient]],
) -> AsyncIterator[ChatClient]:
    """A chat process with the default (extractive) provider."""
    async with start_chat() as client:
        yield client


@pytest.fixture
def stand_in() -> OpenAIStandIn:
    """The OpenAI-compatible server the ``openai`` provider talks to."""
    return OpenAIStandIn()


@pytest.fixture
async def openai_url(stand_in: OpenAIStandIn) -> AsyncIterator[str]:
    """The stand-in, serving; its base URL."""
    async with running_openai(stand_in) as url:
        yield url
        # A held answer must finish for the server to stop.
        stand_in.resume.set()


@pytest.fixture
async def openai_chat(
    start_chat: Callable[..., AbstractAsyncContextManager[ChatClient]], openai_url: str
) -> AsyncIterator[ChatClient]:
    """A chat process with the ``openai`` provider on the stand-in."""
    settings = OpenAISettings(
        base_url=openai_url, model="stand-in", api_key="sk-test", max_retries=0
    )
    async with start_chat(provider="openai", openai=settings) as client:
        yield client
