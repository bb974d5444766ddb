"""Async PostgreSQL access through SQLModel/SQLAlchemy with asyncpg, and Alembic helpers.

Each service owns one schema and its own Alembic migration folder; the version table lives inside
that schema, so services migrate independently in one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ragchat_common.health import Probe
from ragchat_common.settings import PostgresSettings


def create_engine(settings: PostgresSettings) -> AsyncEngine:
    """A pooled async engine; ``pool_pre_ping`` drops connections a restarted server closed."""
    return create_async_engine(
        settings.async_url(), pool_size=settings.pool_size, pool_pre_ping=True
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error."""
    async with sessions() as session, session.begin():
        yield session


def postgres_probe(engine: AsyncEngine) -> Probe:
    """Readiness probe: the database answers a query."""

    async def probe() -> str | None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None

    return probe


def alembic_config(migrations_dir: Path, settings: PostgresSettings, schema: str) -> Config:
    """An Alembic configuration for one service's migrations folder and schema."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", settings.async_url().replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


async def upgrade(config: Config, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (Alembic is synchronous, so it runs in a thread)."""
    await asyncio.to_thread(command.upgrade, config, revision)


async def downgrade(config: Config, revision: str) -> None:
    """Roll migrations back to ``revision`` (``"base"`` removes them all)."""
    await asyncio.to_thread(command.downgrade, config, revision)


def run_migrations_online(config: Config, target_metadata: MetaData) -> None:
    """Body of every service's Alembic ``env.py``: migrate inside the service's own schema."""
    schema: str = config.attributes["schema"]
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")

    def migrate(connection: Connection) -> None:
        from alembic import context

        # Replicas starting together migrate one at a time: the lock lasts until the commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()

    async def run() -> None:
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())
