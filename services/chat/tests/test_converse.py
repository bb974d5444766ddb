"""Converse end to end inside chat: real PostgreSQL, Redis and Kafka, the real chat process and
its gRPC API, the extractive provider, over the fixed-corpus retriever (see ``harness``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import grpc
import pytest
from ragchat.v1 import chat_pb2
from ragchat_common.events import ChatTurn

from tests.harness.kafka import TopicReader

from .harness import (
    KB_BILLING,
    KB_DOCS,
    ChatClient,
    FixedCorpusRetriever,
    citations,
    free_port,
    principal,
    summary,
    tokens,
)

pytestmark = pytest.mark.integration


async def test_answer_streams_tokens_then_citations_then_summary(chat: ChatClient) -> None:
    events = await chat.ask(principal(), "How do I upgrade an installed package?")

    kinds = [e.WhichOneof("event") for e in events]
    assert kinds.count("summary") == 1 and kinds[-1] == "summary"
    first_citation = kinds.index("citation")
    assert set(kinds[:first_citation]) == {"token"}
    assert set(kinds[first_citation:-1]) == {"citation"}
    assert len([k for k in kinds if k == "token"]) > 5, "the answer streams in pieces"

    text = tokens(events)
    assert "python -m pip install --upgrade" in text
    assert "[1]" in text
    cited = citations(events)
    assert [c.number for c in cited] == list(range(1, len(cited) + 1))
    assert cited[0].url == "https://docs.example.test/upgrading"
    assert "<mark>" not in cited[0].snippet
    done = summary(events)
    assert done.provider == "extractive" and not done.declined
    assert done.total_ms >= done.first_token_ms >= done.retrieval_ms > 0
    assert done.prompt_tokens > 0 and done.completion_tokens > 0
    turns = {"provider": "extractive", "declined": "false"}
    assert chat.registry.get_sample_value("ragchat_chat_turns_total", turns) == 1

    stored = await chat.stub.GetConversation(
        chat_pb2.GetConversationRequest(principal=principal(), conversation_id=done.conversation_id)
    )
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert stored.messages[0].content == "How do I upgrade an installed package?"
    answer = stored.messages[1]
    assert answer.id == done.turn_id
    assert answer.content == text.strip()
    assert [c.url for c in answer.citations] == [c.url for c in cited]


async def test_follow_up_is_searched_with_the_previous_question_s_topic(
    chat: ChatClient, corpus_retriever: FixedCorpusRetriever
) -> None:
    first = await chat.ask(principal(), "How do I install a package with pip?")
    conversation_id = summary(first).conversation_id

    second = await chat.ask(
        principal(), "And how do I upgrade it?", conversation_id=conversation_id
    )

    assert summary(second).conversation_id == conversation_id
    follow_up_query = corpus_retriever.searches[-1].query
    assert "upgrade" in follow_up_query
    assert "pip" in follow_up_query and "package" in follow_up_query
    assert citations(second)[0].url == "https://docs.example.test/upgrading"
    stored = await chat.stub.GetConversation(
        chat_pb2.GetConversationRequest(principal=principal(), conversation_id=conversation_id)
    )
    assert [m.role for m in stored.messages] == ["user", "assistant", "user", "assistant"]
    assert stored.summary.message_count == 4


async def test_first_question_is_searched_as_asked(
    chat: ChatClient, corpus_retriever: FixedCorpusRetriever
) -> None:
    await chat.ask(principal(), "How do I create a virtual environment?")

    assert corpus_retriever.searches[-1].query == "How do I create a virtual environment?"


async def test_declines_when_the_site_holds_nothing(chat: ChatClient) -> None:
    events = await chat.ask(principal(), "What is the weather on Mars tomorrow?")

    assert tokens(events) == "I could not find this on the site."
    assert citations(events) == []
    assert summary(events).declined


async def test_declines_under_the_score_threshold_and_lists_the_closest_pages(
    start_chat: Callable[..., AbstractAsyncContextManager[ChatClient]],
) -> None:
    async with start_chat(decline_min_score=0.05) as chat:
        events = await chat.ask(principal(), "How do I upgrade an installed package?")

    text = tokens(events)
    assert text.startswith("I could not find this on the site. The closest pages are:")
    cited = citations(events)
    assert cited, "a decline lists the closest pages"
    assert cited[0].url == "https://docs.example.test/upgrading"
    assert len({c.url for c in cited}) == len(cited)
    assert f"Upgrading packages [{cited[0].number}]" in text
    assert summary(events).declined


async def test_extractive_declines_when_no_sentence_answers(chat: ChatClient) -> None:
    # The corpus mentions "package" but nothing about licences, prices or support contracts.
    events = await chat.ask(
        principal(), "What licence and price does the package support contract have?"
    )

    assert tokens(events).startswith("I could not find this on the site.")
    assert summary(events).declined


async def test_second_ask_is_served_from_the_cache_until_the_index_changes(
    chat: ChatClient, corpus_retriever: FixedCorpusRetriever
) -> None:
    question = "How do I upgrade an installed package?"
    first = await chat.ask(principal(), question)
    searches = len(corpus_retriever.searches)

    again = await chat.ask(principal(), "  how do I upgrade an installed PACKAGE ")

    assert len(corpus_retriever.searches) == searches, "a cache hit does not search"
    assert summary(again).provider == "cached:extractive"
    assert tokens(again) == tokens(first)
    assert [c.url for c in citations(again)] == [c.url for c in citations(first)]
    assert summary(again).conversation_id != summary(first).conversation_id
    stored = await chat.stub.GetConversation(
        chat_pb2.GetConversationRequest(
            principal=principal(), conversation_id=summary(again).conversation_id
        )
    )
    assert len(stored.messages) == 2, "a cached answer is still a stored turn"

    skipped = await chat.ask(principal(), question, skip_cache=True)
    assert summary(skipped).provider == "extractive"
    assert len(corpus_retriever.searches) == searches + 1

    corpus_retriever.reindex(KB_DOCS)
    after_recrawl = await chat.ask(principal(), question)
    assert summary(after_recrawl).provider == "extractive"
    assert len(corpus_retriever.searches) == searches + 2


async def test_follow_ups_are_not_cached(
    chat: ChatClient, corpus_retriever: FixedCorpusRetriever
) -> None:
    first = await chat.ask(principal(), "How do I install a package with pip?")
    conversation_id = summary(first).conversation_id
    await chat.ask(
        principal(), "How do I install a package with pip?", conversation_id=conversation_id
    )

    second = await chat.ask(
        principal(), "How do I install a package with pip?", conversation_id=conversation_id
    )
    assert summary(second).provider == "extractive"


async def test_kb_filter_is_enforced(
    chat: ChatClient, corpus_retriever: FixedCorpusRetriever
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await chat.ask(principal(kb_ids=(KB_DOCS,)), "How do refunds work?", kb_ids=[KB_BILLING])
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await chat.ask(principal(), "How do I install a package?", kb_ids=[])
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await chat.ask(principal(), "How do I install a package?", kb_ids=["not-a-uuid"])
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    with pytest.raises(grpc.aio.AioRpcError) as no_scope:
        await chat.ask(principal(api_key_scopes=("ingest",)), "How do I install a package?")
    assert no_scope.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert corpus_retriever.searches == [], "no refused request reached the retriever"
    refusals = chat.registry.get_sample_value(
        "ragchat_chat_refusals_total", {"code": "permission_denied"}
    )
    assert refusals == 2

    both = principal(kb_ids=(KB_DOCS, KB_BILLING))
    events = await chat.ask(both, "How do I get a refund of my purchase?", kb_ids=[KB_DOCS])
    assert list(corpus_retriever.searches[-1].kb_ids) == [KB_DOCS]
    assert all("billing" not in c.url for c in citations(events))

    answered = await chat.ask(both, "How do I get a refund of my purchase?", kb_ids=[KB_BILLING])
    assert citations(answered)[0].url == "https://billing.example.test/refunds"


async def test_message_limits(chat: ChatClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as blank:
        await chat.ask(principal(), "   ")
    assert blank.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    too_long = "pip " * (chat.settings.max_message_chars // 4 + 1)
    with pytest.raises(grpc.aio.AioRpcError) as long_message:
        await chat.ask(principal(), too_long)
    assert long_message.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_conversation_continues_only_for_its_owner(chat: ChatClient) -> None:
    first = await chat.ask(principal(subject="alice"), "How do I install a package with pip?")

    with pytest.raises(grpc.aio.AioRpcError) as other:
        await chat.ask(
            principal(subject="mallory"),
            "And how do I upgrade it?",
            conversation_id=summary(first).conversation_id,
        )
    assert other.value.code() == grpc.StatusCode.NOT_FOUND


async def test_each_turn_is_published_on_chat_turn(
    chat: ChatClient, read_topic: TopicReader, turn_topic: str
) -> None:
    events = await chat.ask(principal(subject="alice"), "How do I upgrade an installed package?")
    declined = await chat.ask(principal(subject="alice"), "What is the weather on Mars tomorrow?")

    records = await read_topic(turn_topic, lambda records: len(records) >= 2, within_s=60)
    received = [ChatTurn.model_validate_json(r.value or b"") for r in records]

    by_turn = {str(t.turn_id): t for t in received}
    turn = by_turn[summary(events).turn_id]
    assert str(turn.conversation_id) == summary(events).conversation_id
    assert [str(kb) for kb in turn.kb_ids] == [KB_DOCS]
    assert turn.principal == "alice"
    assert turn.question == "How do I upgrade an installed package?"
    assert turn.answer_chars == len(tokens(events).strip())
    assert turn.cited_urls[0] == "https://docs.example.test/upgrading"
    assert turn.provider == "extractive" and not turn.declined
    assert turn.total_ms == pytest.approx(summary(events).total_ms)
    assert by_turn[summary(declined).turn_id].declined


async def test_a_retriever_that_does_not_answer_gives_unavailable(
    start_chat: Callable[..., AbstractAsyncContextManager[ChatClient]],
) -> None:
    async with start_chat(retriever_target=f"127.0.0.1:{free_port()}") as chat:
        with pytest.raises(grpc.aio.AioRpcError) as down:
            await chat.ask(principal(), "How do I upgrade an installed package?")

    assert down.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "search is unavailable" in (down.value.details() or "")
