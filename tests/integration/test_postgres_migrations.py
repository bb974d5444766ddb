"""A service's Alembic migrations apply to its own schema and roll back cleanly."""

import pytest
from ragchat_common import db
from ragchat_common.settings import PostgresSettings
from ragchat_gateway.store import MIGRATIONS
from sqlalchemy import text

pytestmark = pytest.mark.integration


async def tables_in(settings: PostgresSettings, schema: str) -> set[str]:
    engine = db.create_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            )
            return {r[0] for r in rows}
    finally:
        await engine.dispose()


async def test_gateway_migrations_apply_and_roll_back(scratch_database: PostgresSettings) -> None:
    config = db.alembic_config(MIGRATIONS.directory, scratch_database, MIGRATIONS.schema)

    await db.upgrade(config)
    assert await tables_in(scratch_database, "gateway") == {
        "alembic_version",
        "knowledge_bases",
        "crawl_jobs",
        "analytics_turns",
        "analytics_feedback",
        "analytics_crawls",
    }
    await db.upgrade(config)  # applying again is a no-op, as on every service start

    await db.downgrade(config, "base")
    assert await tables_in(scratch_database, "gateway") == {"alembic_version"}

    await db.upgrade(config)
    engine = db.create_engine(scratch_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO gateway.knowledge_bases (id, tenant_id, name) "
                    "VALUES (gen_random_uuid(), gen_random_uuid(), 'docs')"
                )
            )
            count = await conn.scalar(text("SELECT count(*) FROM gateway.knowledge_bases"))
    finally:
        await engine.dispose()
    assert count == 1
