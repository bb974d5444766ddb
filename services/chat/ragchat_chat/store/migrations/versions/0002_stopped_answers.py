"""Answers the client stopped mid-stream are kept, marked ``stopped``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "messages",
        sa.Column("stopped", sa.Boolean(), server_default="false", nullable=False),
        schema="chat",
    )


def downgrade() -> None:
    op.drop_column("messages", "stopped", schema="chat")
