"""Writes to the chunks index: bulk indexing by chunk id, and deletions by query.

Every call goes through the alias. Failures that say OpenSearch is away, overloaded or not taking
writes (no connection, a timeout, HTTP 429 or 5xx, an index write block) become
:class:`DependencyUnavailable`, so the consumer pauses and retries instead of dead-lettering good
chunks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import TransportError
from ragchat_common.consumer import DependencyUnavailable

T = TypeVar("T")


def is_transient(status: int) -> bool:
    """Whether an HTTP status means "try again later" rather than "this request is wrong"."""
    return status == 429 or status >= 500


TRANSIENT_ITEM_ERRORS = frozenset({"cluster_block_exception"})
"""Item errors that say the index cannot take writes now (a write block set by an operator, or
the flood-stage disk block), whatever their status: the chunk is fine, the index is not."""


@dataclass(frozen=True)
class ItemFailure:
    """One document of a bulk request that OpenSearch did not index."""

    chunk_id: str
    status: int
    reason: str


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk request did, item by item: indexed ids and failures by kind."""

    indexed: list[str] = field(default_factory=list)
    transient: list[ItemFailure] = field(default_factory=list)
    rejected: list[ItemFailure] = field(default_factory=list)


def bulk_outcome(response: dict[str, Any]) -> BulkOutcome:
    """Sort the items of a bulk response into indexed, transiently failed and rejected."""
    outcome = BulkOutcome()
    for item in response["items"]:
        result = item["index"]
        status = int(result["status"])
        if status < 300:
            outcome.indexed.append(result["_id"])
            continue
        error = result.get("error", {})
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        caused_by = error.get("caused_by")
        if caused_by:
            reason += f" (caused by {caused_by.get('type')}: {caused_by.get('reason')})"
        failure = ItemFailure(result["_id"], status, reason)
        transient = is_transient(status) or error.get("type") in TRANSIENT_ITEM_ERRORS
        (outcome.transient if transient else outcome.rejected).append(failure)
    return outcome


async def _reachable(call: Callable[[], Awaitable[T]]) -> T:
    """Run one OpenSearch request, turning "server away or overloaded" into a pause."""
    try:
        return await call()
    except OpenSearchConnectionError as exc:
        raise DependencyUnavailable(f"OpenSearch unreachable: {exc}") from exc
    except TransportError as exc:
        if isinstance(exc.status_code, int) and is_transient(exc.status_code):
            raise DependencyUnavailable(f"OpenSearch answered {exc.status_code}: {exc}") from exc
        raise


class ChunkStore:
    """The chunks index as the indexer sees it: put documents, delete by query or knowledge base."""

    def __init__(self, client: AsyncOpenSearch, alias: str) -> None:
        self.client = client
        self.alias = alias

    async def index(self, documents: dict[str, dict[str, Any]]) -> BulkOutcome:
        """Index ``documents`` (by chunk id, which becomes ``_id``) in one bulk request.

        Returns once the documents are searchable: the stale-chunk deletion that follows finds
        chunks by query, and a query only sees refreshed documents, so every write must be
        visible before the next deletion runs. The request refreshes the shards it wrote
        (``refresh=true``) rather than waiting for the next scheduled refresh
        (``refresh=wait_for``), which held every batch up to a second: 0.9-1.0 s a request
        against 0.03-0.26 s, and a pipeline's last chunks searchable 1.0-1.8 s after they were
        embedded instead of 2.2-2.9 s. The price is a small segment per batch, which merges
        absorb; batches are hundreds of chunks (``indexer_batch_*`` settings).
        """
        if not documents:
            return BulkOutcome()
        body: list[dict[str, Any]] = []
        for chunk_id, document in documents.items():
            body += [{"index": {"_index": self.alias, "_id": chunk_id}}, document]
        response = await _reachable(lambda: self.client.bulk(body=body, refresh="true"))
        return bulk_outcome(response)

    async def delete_matching(self, query: dict[str, Any]) -> int:
        """Delete every chunk ``query`` matches; the number deleted.

        Version conflicts mean a chunk was rewritten (or already deleted) while the deletion ran;
        it is skipped, not an error. Searches stop seeing the deleted chunks at the next refresh.
        """
        response = await _reachable(
            lambda: self.client.delete_by_query(
                index=self.alias, body={"query": query}, conflicts="proceed"
            )
        )
        return int(response["deleted"])

    async def delete_knowledge_base(self, kb_id: str) -> int:
        """Delete every chunk of one knowledge base (a deleted knowledge base).

        No event asks for this yet: knowledge-base deletion belongs to the gateway's next issue.
        """
        return await self.delete_matching({"bool": {"filter": [{"term": {"kb_id": kb_id}}]}})
