"""Crawl jobs and their latest progress.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "gateway"


def upgrade() -> None:
    op.create_table(
        "crawl_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "kb_id",
            sa.Uuid(),
            sa.ForeignKey(f"{SCHEMA}.knowledge_bases.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("urls", postgresql.JSONB(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("scope", postgresql.JSONB(), nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("discovered", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("fetched", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("current_url", sa.String(2000), nullable=True),
        sa.Column("pages_per_second", sa.Float(), nullable=False, server_default="0"),
        sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_crawl_jobs_kb_id", "crawl_jobs", ["kb_id"], schema=SCHEMA)
    op.create_index("ix_crawl_jobs_tenant_id", "crawl_jobs", ["tenant_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_crawl_jobs_tenant_id", "crawl_jobs", schema=SCHEMA)
    op.drop_index("ix_crawl_jobs_kb_id", "crawl_jobs", schema=SCHEMA)
    op.drop_table("crawl_jobs", schema=SCHEMA)
