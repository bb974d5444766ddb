"""Tables of the chat service (schema ``chat``).

- ``conversations``: one per conversation, owned by the principal that started it (a user or an
  API key) in one tenant, with the knowledge bases it asked.
- ``messages``: the user's questions and the assistant's answers in order (``position``), an
  answer with its citations, whether it declined or was stopped by the client mid-stream (then
  its content is the part that was sent), how it was produced and the feedback it got.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ragchat_chat.store import SCHEMA

metadata = MetaData(schema=SCHEMA)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("owner_subject", String(64), nullable=False),
    Column("title", String(200), nullable=False, server_default=""),
    Column("kb_ids", ARRAY(Uuid), nullable=False),
    Column("message_count", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_conversations_owner_updated", "tenant_id", "owner_subject", "updated_at"),
    Index("ix_conversations_tenant_updated", "tenant_id", "updated_at"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "conversation_id",
        Uuid,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    # The search query a question was rewritten to (user messages); empty on answers.
    Column("standalone_query", Text, nullable=False, server_default=""),
    # [{number, chunk_id, url, title, snippet, image_src}] of an answer.
    Column("citations", JSONB, nullable=False, server_default="[]"),
    Column("declined", Boolean, nullable=False, server_default="false"),
    # The client stopped the answer mid-stream; ``content`` is what had been sent.
    Column("stopped", Boolean, nullable=False, server_default="false"),
    Column("provider", String(64), nullable=False, server_default=""),
    Column("retrieval_ms", Float, nullable=False, server_default="0"),
    Column("first_token_ms", Float, nullable=False, server_default="0"),
    Column("total_ms", Float, nullable=False, server_default="0"),
    Column("prompt_tokens", Integer, nullable=False, server_default="0"),
    Column("completion_tokens", Integer, nullable=False, server_default="0"),
    Column("feedback", String(8), nullable=False, server_default=""),
    Column("feedback_comment", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_messages_conversation_position", "conversation_id", "position", unique=True),
)
