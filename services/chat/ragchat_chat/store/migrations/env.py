"""Alembic environment of the chat schema."""

from alembic import context
from ragchat_chat.store.tables import metadata
from ragchat_common.db import run_migrations_online

run_migrations_online(context.config, metadata)
