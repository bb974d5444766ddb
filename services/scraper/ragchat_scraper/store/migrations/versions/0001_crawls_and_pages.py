"""Crawls, their frontier and claims, the page store and large page bodies.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "scraper"


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "crawls",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kb_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("seeds", JSONB(), nullable=False),
        sa.Column("scope", JSONB(), nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        _now(),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index("ix_crawls_kb_id", "crawls", ["kb_id"], schema=SCHEMA)
    op.create_index("ix_crawls_state", "crawls", ["state"], schema=SCHEMA)
    op.create_table(
        "crawl_pages",
        sa.Column("crawl_id", sa.Uuid(), primary_key=True),
        sa.Column("url", sa.Text(), primary_key=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("page_id", sa.String(32), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(200), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("rendered", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column(
            "discovered_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_crawl_pages_crawl_status", "crawl_pages", ["crawl_id", "status"], schema=SCHEMA
    )
    op.create_table(
        "crawl_claims",
        sa.Column("crawl_id", sa.Uuid(), primary_key=True),
        sa.Column("claim", sa.String(80), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "pages",
        sa.Column("page_id", sa.String(32), primary_key=True),
        sa.Column("kb_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("last_crawl_id", sa.Uuid(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("links", JSONB(), nullable=False, server_default="[]"),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_pages_kb_id", "pages", ["kb_id"], schema=SCHEMA)
    op.create_table(
        "page_bodies",
        sa.Column("page_id", sa.String(32), primary_key=True),
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("body", JSONB(), nullable=False),
        _now(),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("page_bodies", schema=SCHEMA)
    op.drop_index("ix_pages_kb_id", "pages", schema=SCHEMA)
    op.drop_table("pages", schema=SCHEMA)
    op.drop_table("crawl_claims", schema=SCHEMA)
    op.drop_index("ix_crawl_pages_crawl_status", "crawl_pages", schema=SCHEMA)
    op.drop_table("crawl_pages", schema=SCHEMA)
    op.drop_index("ix_crawls_state", "crawls", schema=SCHEMA)
    op.drop_index("ix_crawls_kb_id", "crawls", schema=SCHEMA)
    op.drop_table("crawls", schema=SCHEMA)
