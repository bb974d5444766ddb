"""Alembic environment of the gateway schema."""

from alembic import context
from ragchat_common.db import run_migrations_online
from ragchat_gateway.store.tables import metadata

run_migrations_online(context.config, metadata)
