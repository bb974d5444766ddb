"""The auth service's tables in its own PostgreSQL schema, and their migrations."""

from pathlib import Path

from ragchat_common.runtime import Migrations

SCHEMA = "auth"
MIGRATIONS = Migrations(directory=Path(__file__).parent / "migrations", schema=SCHEMA)
