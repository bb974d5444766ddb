"""Queries on conversations and their messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ragchat_chat.domain.model import Answer, Citation, TurnTimings
from ragchat_chat.store.tables import conversations, messages


@dataclass(frozen=True)
class ConversationRecord:
    """A conversation's header."""

    id: UUID
    tenant_id: UUID
    owner_subject: str
    title: str
    kb_ids: tuple[UUID, ...]
    message_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MessageRecord:
    """One message of a conversation."""

    id: UUID
    role: str
    content: str
    citations: tuple[Citation, ...]
    declined: bool
    stopped: bool
    feedback: str
    feedback_comment: str
    created_at: datetime


@dataclass(frozen=True)
class PastTurn:
    """A question and the answer it got, for the conversation's memory."""

    question: str
    answer: str


def _conversation(row: object) -> ConversationRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return ConversationRecord(
        id=m["id"],
        tenant_id=m["tenant_id"],
        owner_subject=m["owner_subject"],
        title=m["title"],
        kb_ids=tuple(m["kb_ids"]),
        message_count=m["message_count"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


async def create_conversation(
    conn: AsyncConnection,
    conversation_id: UUID,
    tenant_id: UUID,
    owner_subject: str,
    title: str,
    kb_ids: Sequence[UUID],
) -> None:
    """Insert an empty conversation."""
    await conn.execute(
        insert(conversations).values(
            id=conversation_id,
            tenant_id=tenant_id,
            owner_subject=owner_subject,
            title=title[:200],
            kb_ids=list(kb_ids),
        )
    )


async def find_conversation(
    conn: AsyncConnection, conversation_id: UUID, *, lock: bool = False
) -> ConversationRecord | None:
    """The conversation, or ``None``; ``lock`` holds its row until the transaction ends."""
    query = select(conversations).where(conversations.c.id == conversation_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _conversation(row) if row is not None else None


async def recent_turns(conn: AsyncConnection, conversation_id: UUID, turns: int) -> list[PastTurn]:
    """The last ``turns`` question/answer pairs, oldest first."""
    rows = (
        await conn.execute(
            select(messages.c.role, messages.c.content)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.position.desc())
            .limit(turns * 2)
        )
    ).all()
    ordered = list(reversed(rows))
    # Messages are written in pairs; a leading answer without its question is dropped.
    if ordered and ordered[0].role == "assistant":
        ordered = ordered[1:]
    return [
        PastTurn(question=q.content, answer=a.content)
        for q, a in zip(ordered[::2], ordered[1::2], strict=False)
    ]


async def append_turn(
    conn: AsyncConnection,
    conversation_id: UUID,
    *,
    question_id: UUID,
    question: str,
    standalone_query: str,
    answer_id: UUID,
    answer: Answer,
    timings: TurnTimings,
    kb_ids: Sequence[UUID],
) -> None:
    """Store a question and its answer at the end of the conversation (row locked by caller)."""
    last = await conn.scalar(
        select(func.coalesce(func.max(messages.c.position), -1)).where(
            messages.c.conversation_id == conversation_id
        )
    )
    position = int(last if last is not None else -1) + 1
    await conn.execute(
        insert(messages).values(
            id=question_id,
            conversation_id=conversation_id,
            position=position,
            role="user",
            content=question,
            standalone_query=standalone_query,
        )
    )
    await conn.execute(
        insert(messages).values(
            id=answer_id,
            conversation_id=conversation_id,
            position=position + 1,
            role="assistant",
            content=answer.text,
            citations=[c.to_json() for c in answer.citations],
            declined=answer.declined,
            stopped=answer.stopped,
            provider=answer.provider,
            retrieval_ms=timings.retrieval_ms,
            first_token_ms=timings.first_token_ms,
            total_ms=timings.total_ms,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
        )
    )
    await conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(
            message_count=conversations.c.message_count + 2,
            updated_at=func.now(),
            kb_ids=list(kb_ids),
        )
    )


async def list_conversations(
    conn: AsyncConnection,
    tenant_id: UUID,
    *,
    owner_subject: str,
    readable_kb_ids: Sequence[UUID] | None,
    kb_filter: Sequence[UUID],
    limit: int,
    before: datetime | None,
) -> list[ConversationRecord]:
    """Newest first: the owner's conversations, plus (when ``readable_kb_ids`` is given) every
    conversation of the tenant held entirely within those knowledge bases."""
    visible = conversations.c.owner_subject == owner_subject
    if readable_kb_ids is not None:
        visible = or_(visible, conversations.c.kb_ids.contained_by(list(readable_kb_ids)))
    query = select(conversations).where(and_(conversations.c.tenant_id == tenant_id, visible))
    if kb_filter:
        query = query.where(conversations.c.kb_ids.overlap(list(kb_filter)))
    if before is not None:
        query = query.where(conversations.c.updated_at < before)
    query = query.order_by(conversations.c.updated_at.desc()).limit(limit)
    return [_conversation(row) for row in (await conn.execute(query)).all()]


async def conversation_messages(
    conn: AsyncConnection, conversation_id: UUID
) -> list[MessageRecord]:
    """Every message of the conversation in order."""
    rows = (
        await conn.execute(
            select(messages)
            .where(messages.c.conversation_id == conversation_id)
            .order_by(messages.c.position)
        )
    ).all()
    return [
        MessageRecord(
            id=r.id,
            role=r.role,
            content=r.content,
            citations=tuple(Citation.from_json(c) for c in r.citations),
            declined=r.declined,
            stopped=r.stopped,
            feedback=r.feedback,
            feedback_comment=r.feedback_comment,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def delete_conversation(conn: AsyncConnection, conversation_id: UUID) -> None:
    """Remove the conversation and, by cascade, every message of it."""
    await conn.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
    await conn.execute(delete(conversations).where(conversations.c.id == conversation_id))


async def record_feedback(
    conn: AsyncConnection, conversation_id: UUID, message_id: UUID, rating: str, comment: str
) -> bool:
    """Set the rating of an assistant message; ``False`` when no such answer is there."""
    result = await conn.execute(
        update(messages)
        .where(
            messages.c.id == message_id,
            messages.c.conversation_id == conversation_id,
            messages.c.role == "assistant",
        )
        .values(feedback=rating, feedback_comment=comment)
    )
    return bool(result.rowcount)
