"""The chat service's tables in its own PostgreSQL schema, and their migrations."""

from pathlib import Path

from ragchat_common.runtime import Migrations

SCHEMA = "chat"
MIGRATIONS = Migrations(directory=Path(__file__).parent / "migrations", schema=SCHEMA)
