"""History RPCs: listing, reading, deleting and rating conversations, each under its access rule."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from ragchat.v1 import chat_pb2
from ragchat_common.settings import PostgresSettings

from .harness import KB_BILLING, KB_DOCS, ChatClient, principal, summary

pytestmark = pytest.mark.integration

ALICE = principal(subject="alice")
BOB = principal(subject="bob")
AGENT = principal(subject="agent", role="agent", kb_ids=(KB_DOCS,))
ADMIN = principal(subject="admin", role="admin", kb_ids=(KB_DOCS, KB_BILLING))
OTHER_TENANT_ADMIN = principal(
    subject="admin2",
    role="admin",
    kb_ids=(KB_DOCS,),
    tenant_id="44444444-4444-4444-8444-444444444444",
)


async def listed(chat: ChatClient, who: object, **fields: object) -> list[str]:
    reply = await chat.stub.ListConversations(
        chat_pb2.ListConversationsRequest(principal=who, **fields)  # type: ignore[arg-type]
    )
    return [c.id for c in reply.conversations]


async def test_listing_shows_own_conversations_and_staff_see_the_tenant_s(
    chat: ChatClient,
) -> None:
    alice_docs = summary(await chat.ask(ALICE, "How do I install a package with pip?"))
    bob_docs = summary(await chat.ask(BOB, "How do I create a virtual environment?"))
    bob_billing = summary(
        await chat.ask(
            principal(subject="bob", kb_ids=(KB_DOCS, KB_BILLING)),
            "How do I get a refund?",
            kb_ids=[KB_BILLING],
        )
    )

    assert await listed(chat, ALICE) == [alice_docs.conversation_id]
    assert await listed(chat, BOB) == [bob_billing.conversation_id, bob_docs.conversation_id]
    # The agent reads only the docs knowledge base: the billing conversation stays hidden.
    assert set(await listed(chat, AGENT)) == {
        alice_docs.conversation_id,
        bob_docs.conversation_id,
    }
    assert len(await listed(chat, ADMIN)) == 3
    assert await listed(chat, ADMIN, kb_ids=[KB_BILLING]) == [bob_billing.conversation_id]
    assert await listed(chat, OTHER_TENANT_ADMIN) == []
    assert await listed(chat, ADMIN, limit=1) == [bob_billing.conversation_id]

    newest = await chat.stub.ListConversations(
        chat_pb2.ListConversationsRequest(principal=ADMIN, limit=1)
    )
    older = await listed(chat, ADMIN, before_ms=newest.conversations[0].updated_at_ms)
    assert bob_billing.conversation_id not in older and len(older) == 2

    with pytest.raises(grpc.aio.AioRpcError) as widget:
        await listed(chat, principal(subject="key-1", api_key_scopes=("chat",)))
    assert widget.value.code() == grpc.StatusCode.PERMISSION_DENIED

    header = newest.conversations[0]
    assert header.title == "How do I get a refund?"
    assert list(header.kb_ids) == [KB_BILLING]
    assert header.owner_subject == "bob" and header.message_count == 2


async def test_reading_a_conversation_is_limited_to_owner_and_staff(chat: ChatClient) -> None:
    turn = summary(await chat.ask(ALICE, "How do I install a package with pip?"))
    request = chat_pb2.GetConversationRequest(conversation_id=turn.conversation_id)

    for allowed in (ALICE, AGENT, ADMIN):
        request.principal.CopyFrom(allowed)
        conversation = await chat.stub.GetConversation(request)
        assert conversation.summary.id == turn.conversation_id
    for refused in (BOB, OTHER_TENANT_ADMIN, principal(subject="x", role="agent", kb_ids=())):
        request.principal.CopyFrom(refused)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await chat.stub.GetConversation(request)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_feedback_is_recorded_on_the_answer_by_its_asker(chat: ChatClient) -> None:
    turn = summary(await chat.ask(ALICE, "How do I install a package with pip?"))

    await chat.stub.RecordFeedback(
        chat_pb2.RecordFeedbackRequest(
            principal=ALICE,
            conversation_id=turn.conversation_id,
            message_id=turn.turn_id,
            rating="down",
            comment="too short",
        )
    )
    conversation = await chat.stub.GetConversation(
        chat_pb2.GetConversationRequest(principal=ALICE, conversation_id=turn.conversation_id)
    )
    answer = conversation.messages[1]
    assert (answer.feedback, answer.feedback_comment) == ("down", "too short")
    assert conversation.messages[0].feedback == ""

    bad = [
        (ALICE, turn.turn_id, "sideways", grpc.StatusCode.INVALID_ARGUMENT),
        (ALICE, conversation.messages[0].id, "up", grpc.StatusCode.NOT_FOUND),
        (AGENT, turn.turn_id, "up", grpc.StatusCode.PERMISSION_DENIED),
        (BOB, turn.turn_id, "up", grpc.StatusCode.NOT_FOUND),
    ]
    for who, message_id, rating, code in bad:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await chat.stub.RecordFeedback(
                chat_pb2.RecordFeedbackRequest(
                    principal=who,
                    conversation_id=turn.conversation_id,
                    message_id=message_id,
                    rating=rating,
                )
            )
        assert error.value.code() == code


async def test_deleting_removes_the_conversation_for_good(
    chat: ChatClient, scratch_database: PostgresSettings
) -> None:
    alice = summary(await chat.ask(ALICE, "How do I install a package with pip?"))
    bob = summary(await chat.ask(BOB, "How do I create a virtual environment?"))

    with pytest.raises(grpc.aio.AioRpcError) as agent_refused:
        await chat.stub.DeleteConversation(
            chat_pb2.DeleteConversationRequest(
                principal=AGENT, conversation_id=alice.conversation_id
            )
        )
    assert agent_refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await chat.stub.DeleteConversation(
        chat_pb2.DeleteConversationRequest(principal=ALICE, conversation_id=alice.conversation_id)
    )
    await chat.stub.DeleteConversation(
        chat_pb2.DeleteConversationRequest(principal=ADMIN, conversation_id=bob.conversation_id)
    )

    assert await listed(chat, ADMIN) == []
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await chat.stub.GetConversation(
            chat_pb2.GetConversationRequest(principal=ALICE, conversation_id=alice.conversation_id)
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as no_follow_up:
        await chat.ask(ALICE, "And how do I upgrade it?", conversation_id=alice.conversation_id)
    assert no_follow_up.value.code() == grpc.StatusCode.NOT_FOUND
    db = await asyncpg.connect(
        host=scratch_database.host,
        port=scratch_database.port,
        user=scratch_database.user,
        password=scratch_database.password.get_secret_value(),
        database=scratch_database.db,
    )
    try:
        assert await db.fetchval("SELECT count(*) FROM chat.messages") == 0
        assert await db.fetchval("SELECT count(*) FROM chat.conversations") == 0
    finally:
        await db.close()
