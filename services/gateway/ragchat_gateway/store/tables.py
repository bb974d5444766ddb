"""SQLModel tables owned by the gateway."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import DateTime, MetaData, UniqueConstraint, func
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
        sa_type=DateTime(timezone=True), sa_column_kwargs={"server_default": func.now()}
    )
    updated_at: datetime = Field(
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "onupdate": func.now()},
    )
