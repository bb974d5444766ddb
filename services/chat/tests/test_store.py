"""Chat's Alembic migrations apply to the ``chat`` schema, are idempotent and roll back cleanly."""

import pytest
from ragchat_chat.store import MIGRATIONS
from ragchat_common import db
from ragchat_common.settings import PostgresSettings
from sqlalchemy import text

pytestmark = pytest.mark.integration


async def tables_in(settings: PostgresSettings) -> set[str]:
    engine = db.create_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'chat'")
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def test_chat_migrations_apply_and_roll_back(scratch_database: PostgresSettings) -> None:
    config = db.alembic_config(MIGRATIONS.directory, scratch_database, MIGRATIONS.schema)

    await db.upgrade(config)
    assert await tables_in(scratch_database) == {"alembic_version", "conversations", "messages"}
    await db.upgrade(config)

    await db.downgrade(config, "base")
    assert await tables_in(scratch_database) == {"alembic_version"}
    await db.upgrade(config)
    assert "messages" in await tables_in(scratch_database)
