"""Analytics keeps turns the client stopped mid-answer, marked ``stopped``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "analytics_turns",
        sa.Column("stopped", sa.Boolean(), server_default="false", nullable=False),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_column("analytics_turns", "stopped", schema="gateway")
