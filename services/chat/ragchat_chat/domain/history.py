"""Reading, deleting and rating past conversations, under the access rules of :mod:`.access`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_chat.domain.access import (
    Caller,
    Forbidden,
    InvalidRequest,
    NotFound,
    may_delete,
    may_read,
    owns,
    parse_uuid,
    require_chat,
)
from ragchat_chat.store import conversations as store

RATINGS = frozenset({"up", "down"})
MAX_COMMENT_CHARS = 2000
MAX_LIST = 200


@dataclass(frozen=True)
class ConversationView:
    """A conversation with its messages."""

    conversation: store.ConversationRecord
    messages: list[store.MessageRecord]


class ConversationHistory:
    """The history RPCs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def list(
        self, caller: Caller, kb_filter: Sequence[str], limit: int, before_ms: int
    ) -> list[store.ConversationRecord]:
        """The caller's conversations, and for staff the tenant's within their knowledge bases.

        API keys may not list: every visitor of a widget shares its key, so a list would show one
        visitor the others' conversations. A widget resumes a conversation by its id instead.
        """
        require_chat(caller)
        if caller.is_api_key:
            raise Forbidden("API keys cannot list conversations; open one by its id")
        kbs = [parse_uuid(kb, "knowledge base id") for kb in kb_filter]
        before = datetime.fromtimestamp(before_ms / 1000, tz=UTC) if before_ms > 0 else None
        async with self.engine.connect() as conn:
            return await store.list_conversations(
                conn,
                caller.tenant_id,
                owner_subject=caller.subject,
                readable_kb_ids=list(caller.readable_kb_ids) if caller.is_staff else None,
                kb_filter=kbs,
                limit=min(limit, MAX_LIST) if limit > 0 else 50,
                before=before,
            )

    async def _visible(
        self, caller: Caller, conversation_id: str, *, for_delete: bool = False
    ) -> store.ConversationRecord:
        require_chat(caller)
        cid = parse_uuid(conversation_id, "conversation id")
        async with self.engine.connect() as conn:
            conversation = await store.find_conversation(conn, cid)
        check = may_delete if for_delete else may_read
        if conversation is None or not may_read(
            caller, conversation.tenant_id, conversation.owner_subject, conversation.kb_ids
        ):
            raise NotFound("no such conversation")
        if not check(
            caller, conversation.tenant_id, conversation.owner_subject, conversation.kb_ids
        ):
            raise Forbidden("only its owner or an admin may delete this conversation")
        return conversation

    async def get(self, caller: Caller, conversation_id: str) -> ConversationView:
        """One conversation with every message, its citations and feedback."""
        conversation = await self._visible(caller, conversation_id)
        async with self.engine.connect() as conn:
            messages = await store.conversation_messages(conn, conversation.id)
        return ConversationView(conversation, messages)

    async def delete(self, caller: Caller, conversation_id: str) -> None:
        """Remove the conversation and its messages for good."""
        conversation = await self._visible(caller, conversation_id, for_delete=True)
        async with self.engine.begin() as conn:
            await store.delete_conversation(conn, conversation.id)

    async def record_feedback(
        self, caller: Caller, conversation_id: str, message_id: str, rating: str, comment: str
    ) -> None:
        """Thumbs up or down on one answer, by the person who got it."""
        if rating not in RATINGS:
            raise InvalidRequest("rating must be 'up' or 'down'")
        if len(comment) > MAX_COMMENT_CHARS:
            raise InvalidRequest(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
        conversation = await self._visible(caller, conversation_id)
        if not owns(caller, conversation.tenant_id, conversation.owner_subject):
            raise Forbidden("only the person who asked may rate the answers")
        mid: UUID = parse_uuid(message_id, "message id")
        async with self.engine.begin() as conn:
            if not await store.record_feedback(conn, conversation.id, mid, rating, comment):
                raise NotFound("no such answer in this conversation")
