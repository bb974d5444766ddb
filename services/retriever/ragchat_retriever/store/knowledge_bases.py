"""What the chunks index holds per knowledge base, and removing a knowledge base from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from opensearchpy import AsyncOpenSearch

# Distinct pages are counted with OpenSearch's cardinality aggregation, exact below this many
# pages per knowledge base (HyperLogLog++ above it, within a few percent).
EXACT_PAGE_COUNT_UP_TO = 40_000


@dataclass(frozen=True)
class KnowledgeBaseStat:
    """Indexed pages and chunks of one knowledge base."""

    kb_id: str
    pages: int
    chunks: int
    last_indexed_at: datetime | None


@dataclass(frozen=True)
class KnowledgeBaseIndex:
    """Per-knowledge-base reads and deletes on the chunks alias."""

    client: AsyncOpenSearch
    alias: str

    async def stats(self, kb_ids: Sequence[str]) -> list[KnowledgeBaseStat]:
        """Pages (distinct page ids), chunks and newest crawl time of each kb; zeros when empty."""
        wanted = sorted(set(kb_ids))
        if not wanted:
            return []
        body = {
            "size": 0,
            "track_total_hits": False,
            "query": {"terms": {"kb_id": wanted}},
            "aggs": {
                "kbs": {
                    "terms": {"field": "kb_id", "size": len(wanted)},
                    "aggs": {
                        "pages": {
                            "cardinality": {
                                "field": "page_id",
                                "precision_threshold": EXACT_PAGE_COUNT_UP_TO,
                            }
                        },
                        "last_crawled": {"max": {"field": "crawled_at"}},
                    },
                }
            },
        }
        reply = await self.client.search(index=self.alias, body=body)
        found: dict[str, KnowledgeBaseStat] = {}
        for bucket in reply["aggregations"]["kbs"]["buckets"]:
            last_ms = bucket["last_crawled"].get("value")
            last = datetime.fromtimestamp(last_ms / 1000, UTC) if last_ms is not None else None
            found[bucket["key"]] = KnowledgeBaseStat(
                kb_id=bucket["key"],
                pages=int(bucket["pages"]["value"]),
                chunks=int(bucket["doc_count"]),
                last_indexed_at=last,
            )
        return [found.get(kb, KnowledgeBaseStat(kb, 0, 0, None)) for kb in wanted]

    async def delete(self, kb_id: str) -> int:
        """Remove every chunk of ``kb_id``; returns how many were deleted.

        Refreshes first so chunks indexed a moment ago are seen, and proceeds over version
        conflicts (a chunk re-indexed meanwhile is deleted by a later call at worst).
        """
        await self.client.indices.refresh(index=self.alias)
        reply = await self.client.delete_by_query(
            index=self.alias,
            body={"query": {"term": {"kb_id": kb_id}}},
            conflicts="proceed",
            refresh=True,
        )
        return int(reply.get("deleted", 0))
