"""Provider switching by settings, and the OpenAI-compatible provider's real streaming path
through the official SDK against a local server speaking the protocol (see ``harness``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import grpc
import pytest
from ragchat.v1 import chat_pb2
from ragchat_chat.providers.extractive import ExtractiveProvider
from ragchat_chat.providers.factory import build_provider
from ragchat_chat.providers.openai_compatible import OpenAICompatibleProvider
from ragchat_chat.settings import ChatSettings, OpenAISettings

from .harness import (
    ChatClient,
    FixedCorpusRetriever,
    OpenAIStandIn,
    citations,
    principal,
    summary,
    tokens,
)


@pytest.mark.unit
async def test_the_factory_builds_the_provider_the_settings_name() -> None:
    extractive = build_provider(ChatSettings(provider="extractive"))
    openai = build_provider(ChatSettings(provider="openai"))
    try:
        assert isinstance(extractive, ExtractiveProvider) and extractive.name == "extractive"
        assert isinstance(openai, OpenAICompatibleProvider) and openai.name == "openai"
    finally:
        await openai.aclose()


@pytest.mark.integration
async def test_openai_provider_streams_the_model_s_answer_with_renumbered_citations(
    openai_chat: ChatClient, stand_in: OpenAIStandIn
) -> None:
    events = await openai_chat.ask(principal(), "How do I upgrade an installed package?")

    assert tokens(events) == "The site explains it in its first passage [1]."
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == ["token"] * (len(kinds) - 2) + ["citation", "summary"]
    assert [c.url for c in citations(events)] == ["https://docs.example.test/upgrading"]
    done = summary(events)
    assert done.provider == "openai" and not done.declined
    assert (done.prompt_tokens, done.completion_tokens) == (321, 7)

    request = stand_in.requests[-1]
    assert request["model"] == "stand-in" and request["stream"] is True
    prompt = request["messages"][-1]["content"]
    assert "[1] Upgrading packages (https://docs.example.test/upgrading)" in prompt
    assert prompt.endswith("Question: How do I upgrade an installed package?")
    assert "ONLY the numbered passages" in request["messages"][0]["content"]


@pytest.mark.integration
async def test_openai_provider_rewrites_follow_ups_with_the_model(
    openai_chat: ChatClient, stand_in: OpenAIStandIn, corpus_retriever: FixedCorpusRetriever
) -> None:
    first = await openai_chat.ask(principal(), "How do I install a package with pip?")

    await openai_chat.ask(
        principal(), "And upgrade it?", conversation_id=summary(first).conversation_id
    )

    assert corpus_retriever.searches[-1].query == stand_in.rewritten
    rewrite_request = stand_in.requests[-2]
    assert not rewrite_request.get("stream")
    assert "How do I install a package with pip?" in rewrite_request["messages"][-1]["content"]
    answer_request = stand_in.requests[-1]
    # The previous turn is in the prompt as conversation history.
    assert [m["role"] for m in answer_request["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


@pytest.mark.integration
async def test_a_failed_model_rewrite_falls_back_to_the_heuristic(
    openai_chat: ChatClient, stand_in: OpenAIStandIn, corpus_retriever: FixedCorpusRetriever
) -> None:
    first = await openai_chat.ask(principal(), "How do I install a package with pip?")
    stand_in.fail_rewrites = True

    events = await openai_chat.ask(
        principal(), "And upgrade it?", conversation_id=summary(first).conversation_id
    )

    assert corpus_retriever.searches[-1].query == "And upgrade it? (install package pip)"
    assert summary(events).provider == "openai" and not summary(events).declined


@pytest.mark.integration
async def test_a_provider_that_fails_gives_unavailable_and_stores_nothing(
    openai_chat: ChatClient,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await openai_chat.ask(principal(), "How do I upgrade a package under overload?")

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failed.value.details() == "the openai provider failed to answer"
    listed = await openai_chat.stub.ListConversations(
        chat_pb2.ListConversationsRequest(principal=principal())
    )
    assert list(listed.conversations) == []


@pytest.mark.integration
async def test_a_model_that_finds_no_answer_gives_a_decline_with_the_closest_pages(
    openai_chat: ChatClient,
) -> None:
    events = await openai_chat.ask(principal(), "Which unknowable package upgrade is best?")

    text = tokens(events)
    assert text.startswith("I could not find this on the site. The closest pages are:")
    assert citations(events), "the closest pages are listed"
    assert summary(events).declined and summary(events).provider == "openai"


@pytest.mark.integration
async def test_the_same_question_is_answered_by_whichever_provider_is_configured(
    start_chat: Callable[..., AbstractAsyncContextManager[ChatClient]], openai_url: str
) -> None:
    question = "How do I upgrade an installed package?"
    async with start_chat(provider="extractive") as chat:
        extractive = await chat.ask(principal(), question)
    settings = OpenAISettings(base_url=openai_url, model="stand-in")
    async with start_chat(provider="openai", openai=settings) as chat:
        generative = await chat.ask(principal(), question)

    assert summary(extractive).provider == "extractive"
    assert "python -m pip install --upgrade" in tokens(extractive)
    assert summary(generative).provider == "openai"
    assert tokens(generative) == "The site explains it in its first passage [1]."


@pytest.mark.integration
async def test_a_long_conversation_keeps_recent_turns_and_a_summary_of_the_rest(
    start_chat: Callable[..., AbstractAsyncContextManager[ChatClient]],
    openai_url: str,
    stand_in: OpenAIStandIn,
) -> None:
    settings = OpenAISettings(base_url=openai_url, model="stand-in")
    questions = [
        "How do I install a package with pip?",
        "How do I create a virtual environment?",
        "How do I upgrade an installed package?",
        "Where do packages come from?",
    ]
    async with start_chat(
        provider="openai", openai=settings, max_history_turns=2, rewrite_with_model=False
    ) as chat:
        conversation_id = ""
        for question in questions:
            events = await chat.ask(principal(), question, conversation_id=conversation_id)
            conversation_id = summary(events).conversation_id

    messages = stand_in.requests[-1]["messages"]
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert [messages[1]["content"], messages[3]["content"]] == questions[1:3]
    system = messages[0]["content"]
    assert "Earlier in this conversation: Asked: How do I install a package with pip?" in system
