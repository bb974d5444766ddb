"""Alembic environment of the auth schema."""

from alembic import context
from ragchat_auth.store.tables import metadata
from ragchat_common.db import run_migrations_online

run_migrations_online(context.config, metadata)
