"""Tables of the scraper: crawl jobs, each crawl's frontier, the knowledge bases' page store.

- ``crawls``: one row per submitted crawl; its lease says which replica runs it (a crawl whose
  lease ran out, because its replica died, is picked up and resumed by another).
- ``crawl_pages``: every URL a crawl admitted, with what happened to it (status and reason), and
  the links it found out of its scope (``out_of_scope``, with the rule that left them out).
- ``crawl_claims``: per crawl, the first URL that claimed a content hash or a page id, so a second
  URL with the same content (or the same canonical page) is a duplicate.
- ``pages``: the latest known state of each page of a knowledge base (validators for conditional
  re-fetches, content hash to publish only changes, outgoing links so an unchanged page still
  leads to its neighbours, and whether it was deleted).
- ``page_bodies``: parsed bodies too large for one Kafka message, served by reference.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from ragchat_scraper.store import SCHEMA

metadata = MetaData(schema=SCHEMA)


class PageStatus(StrEnum):
    """What happened to a URL in a crawl."""

    DISCOVERED = "discovered"
    FETCHED = "fetched"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    REFUSED_ROBOTS = "refused_robots"
    REFUSED_SSRF = "refused_ssrf"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    GONE = "gone"
    OUT_OF_SCOPE = "out_of_scope"


crawls = Table(
    "crawls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kb_id", Uuid, nullable=False, index=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("mode", String(20), nullable=False),
    Column("seeds", JSONB, nullable=False),
    Column("scope", JSONB, nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("reason", Text, nullable=True),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

crawl_pages = Table(
    "crawl_pages",
    metadata,
    Column("crawl_id", Uuid, primary_key=True),
    Column("url", Text, primary_key=True),
    Column("depth", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("page_id", String(32), nullable=True),
    Column("final_url", Text, nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("content_type", String(200), nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("rendered", Boolean, nullable=False, server_default="false"),
    Column("discovered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("fetched_at", DateTime(timezone=True), nullable=True),
)

crawl_claims = Table(
    "crawl_claims",
    metadata,
    Column("crawl_id", Uuid, primary_key=True),
    Column("claim", String(80), primary_key=True),
    Column("url", Text, nullable=False),
)

pages = Table(
    "pages",
    metadata,
    Column("page_id", String(32), primary_key=True),
    Column("kb_id", Uuid, nullable=False, index=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("url", Text, nullable=False),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("last_crawl_id", Uuid, nullable=False),
    Column("deleted", Boolean, nullable=False, server_default="false"),
    Column("links", JSONB, nullable=False, server_default="[]"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

page_bodies = Table(
    "page_bodies",
    metadata,
    Column("page_id", String(32), primary_key=True),
    Column("content_hash", String(64), primary_key=True),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
