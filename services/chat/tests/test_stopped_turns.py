"""A turn the client stops mid-answer is stored: the question and the part of the answer it was
sent, marked stopped, with the sources that part cites; the conversation goes on from there. It is
published on ``chat.turn`` marked stopped, and never cached.

The answer comes from the ``openai`` provider on the stand-in server, which sends its first
sentence and holds the rest, so the client stops the stream in the middle of a live answer.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
from ragchat.v1 import chat_pb2
from ragchat_common.events import ChatTurn
from ragchat_common.settings import PostgresSettings

from tests.harness.kafka import TopicReader

from .harness import KB_DOCS, ChatClient, OpenAIStandIn, principal, summary, tokens

pytestmark = pytest.mark.integration

QUESTION = "How do I upgrade a package if the download is interrupted?"


async def stored_messages(database: PostgresSettings, count: int) -> list[dict[str, Any]]:
    """The messages in chat's schema, oldest first, once there are ``count`` of them (the stop
    is seen by the server a moment after the client makes it)."""
    db = await asyncpg.connect(
        host=database.host,
        port=database.port,
        user=database.user,
        password=database.password.get_secret_value(),
        database=database.db,
    )
    try:
        for _ in range(400):
            rows = await db.fetch(
                "SELECT conversation_id, role, content, citations, stopped"
                " FROM chat.messages ORDER BY position"
            )
            if len(rows) >= count:
                return [dict(r) for r in rows]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} messages were never stored")
    finally:
        await db.close()


async def test_a_turn_stopped_mid_answer_is_stored_with_the_part_sent(
    openai_chat: ChatClient,
    stand_in: OpenAIStandIn,
    scratch_database: PostgresSettings,
    read_topic: TopicReader,
    turn_topic: str,
) -> None:
    asker = principal()
    call = openai_chat.stub.Converse(
        chat_pb2.ConverseRequest(principal=asker, kb_ids=[KB_DOCS], message=QUESTION)
    )
    sent = ""
    async for event in call:
        assert event.WhichOneof("event") == "token", "the answer is held after its first sentence"
        sent += event.token
        if sent.endswith("[1]."):
            break
    call.cancel()

    question, answer = await stored_messages(scratch_database, 2)
    assert (question["role"], question["content"], question["stopped"]) == ("user", QUESTION, False)
    assert answer["role"] == "assistant" and answer["stopped"]
    assert answer["content"] == sent == "The site explains it [1]."
    cited = json.loads(answer["citations"])
    assert [c["number"] for c in cited] == [1], "only the source the sent part names"
    assert cited[0]["url"].startswith("https://")

    # The stopped turn is history like any other: listed, readable, and the conversation goes on.
    conversation_id = str(question["conversation_id"])
    listed = await openai_chat.stub.ListConversations(
        chat_pb2.ListConversationsRequest(principal=asker)
    )
    assert [c.id for c in listed.conversations] == [conversation_id]
    read = await openai_chat.stub.GetConversation(
        chat_pb2.GetConversationRequest(principal=asker, conversation_id=conversation_id)
    )
    assert [(m.content, m.stopped) for m in read.messages] == [(QUESTION, False), (sent, True)]
    stand_in.resume.set()
    events = await openai_chat.ask(asker, "And with pip?", conversation_id=conversation_id)
    assert summary(events).conversation_id == conversation_id
    assert tokens(events).startswith("The site explains")
    rows = await stored_messages(scratch_database, 4)
    assert [r["stopped"] for r in rows] == [False, True, False, False]

    # Published for analytics, marked stopped, with the part sent and the source it cites.
    records = await read_topic(turn_topic, lambda records: len(records) >= 2, within_s=60)
    published = [ChatTurn.model_validate_json(r.value or b"") for r in records]
    # Ordered by the publish, which for the stopped turn follows its store: sort by the flag.
    follow_up, stopped = sorted(published, key=lambda t: t.stopped)
    assert stopped.stopped and not follow_up.stopped
    assert str(stopped.conversation_id) == str(follow_up.conversation_id) == conversation_id
    assert stopped.question == QUESTION and stopped.answer_chars == len(sent)
    assert stopped.cited_urls == [cited[0]["url"]]
    assert stopped.provider == "openai" and not stopped.declined
    assert str(follow_up.turn_id) == summary(events).turn_id

    # Never cached: the same first question is answered afresh, not replayed from the cache.
    again = await openai_chat.ask(principal(), QUESTION)
    assert summary(again).provider == "openai"
