"""Analytics read model: answered turns, feedback on answers, crawl counters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gateway"


def upgrade() -> None:
    op.create_table(
        "analytics_turns",
        sa.Column("turn_id", sa.Uuid(), primary_key=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kb_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_key", sa.Text(), nullable=False),
        sa.Column("question_embedding", postgresql.ARRAY(sa.REAL()), nullable=True),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.Column("answer_chars", sa.Integer(), nullable=False),
        sa.Column("cited_urls", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("retrieval_ms", sa.Float(), nullable=False),
        sa.Column("first_token_ms", sa.Float(), nullable=False),
        sa.Column("total_ms", sa.Float(), nullable=False),
        sa.Column("provider", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_analytics_turns_tenant_day", "analytics_turns", ["tenant_id", "day"], schema=SCHEMA
    )
    op.create_index(
        "ix_analytics_turns_kb_ids",
        "analytics_turns",
        ["kb_ids"],
        schema=SCHEMA,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_analytics_turns_conversation", "analytics_turns", ["conversation_id"], schema=SCHEMA
    )
    op.create_table(
        "analytics_feedback",
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("rating", sa.String(10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_analytics_feedback_tenant_created",
        "analytics_feedback",
        ["tenant_id", "created_at"],
        schema=SCHEMA,
    )
    op.create_table(
        "analytics_crawls",
        sa.Column("crawl_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kb_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("discovered", sa.Integer(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_analytics_crawls_tenant_kb", "analytics_crawls", ["tenant_id", "kb_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("analytics_crawls", schema=SCHEMA)
    op.drop_table("analytics_feedback", schema=SCHEMA)
    op.drop_table("analytics_turns", schema=SCHEMA)
