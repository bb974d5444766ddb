"""Alembic environment of the scraper schema."""

from alembic import context
from ragchat_common.db import run_migrations_online
from ragchat_scraper.store.tables import metadata

run_migrations_online(context.config, metadata)
