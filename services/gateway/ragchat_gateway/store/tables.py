"""SQLModel tables owned by the gateway."""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from ragchat_common.events import utc_now
from sqlalchemy import DateTime, MetaData, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from ragchat_gateway.store import SCHEMA

metadata = MetaData(schema=SCHEMA)


class GatewayTable(SQLModel):
    """Base of the gateway's tables: they all live in the gateway schema."""

    metadata = metadata


class KnowledgeBase(GatewayTable, table=True):
    """A set of crawled sites that a tenant's chat answers from."""

    __tablename__ = "knowledge_bases"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    tenant_id: UUID = Field(index=True)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = Field(
        default_factory=utc_now,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    updated_at: datetime = Field(
        default_factory=utc_now,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "onupdate": func.now()},
    )


class CrawlJob(GatewayTable, table=True):
    """A submitted crawl and the latest progress the scraper reported for it."""

    __tablename__ = "crawl_jobs"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kb_id: UUID = Field(foreign_key="gateway.knowledge_bases.id", ondelete="CASCADE", index=True)
    tenant_id: UUID = Field(index=True)
    urls: list[str] = Field(sa_type=JSONB)
    mode: str = Field(max_length=20)
    scope: dict[str, Any] = Field(sa_type=JSONB)
    submitted_by: str = Field(max_length=200)
    state: str = Field(default="queued", max_length=20)
    discovered: int = 0
    fetched: int = 0
    failed: int = 0
    skipped: int = 0
    current_url: str | None = Field(default=None, max_length=2000)
    pages_per_second: float = 0.0
    # When the scraper emitted the progress stored here; older events arriving late are ignored.
    progress_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(
        default_factory=utc_now,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    updated_at: datetime = Field(
        default_factory=utc_now,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "onupdate": func.now()},
    )
