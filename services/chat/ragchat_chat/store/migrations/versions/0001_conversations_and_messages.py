"""Conversations and their messages (questions, answers with citations, feedback).

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("owner_subject", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), server_default="", nullable=False),
        sa.Column("kb_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="chat",
    )
    op.create_index(
        "ix_conversations_owner_updated",
        "conversations",
        ["tenant_id", "owner_subject", "updated_at"],
        unique=False,
        schema="chat",
    )
    op.create_index(
        "ix_conversations_tenant_updated",
        "conversations",
        ["tenant_id", "updated_at"],
        unique=False,
        schema="chat",
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("standalone_query", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "citations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("declined", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("provider", sa.String(length=64), server_default="", nullable=False),
        sa.Column("retrieval_ms", sa.Float(), server_default="0", nullable=False),
        sa.Column("first_token_ms", sa.Float(), server_default="0", nullable=False),
        sa.Column("total_ms", sa.Float(), server_default="0", nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("feedback", sa.String(length=8), server_default="", nullable=False),
        sa.Column("feedback_comment", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["conversation_id"], ["chat.conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        schema="chat",
    )
    op.create_index(
        "ix_messages_conversation_position",
        "messages",
        ["conversation_id", "position"],
        unique=True,
        schema="chat",
    )


def downgrade() -> None:
    op.drop_index("ix_messages_conversation_position", table_name="messages", schema="chat")
    op.drop_table("messages", schema="chat")
    op.drop_index("ix_conversations_tenant_updated", table_name="conversations", schema="chat")
    op.drop_index("ix_conversations_owner_updated", table_name="conversations", schema="chat")
    op.drop_table("conversations", schema="chat")
