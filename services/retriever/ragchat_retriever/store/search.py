"""Reads of the chunks index: kb-scoped candidate queries in one ``_msearch`` round trip, then
the chosen chunks, whole, in another.

This is the retriever's only read path to OpenSearch, and it takes nothing but
:class:`~ragchat_retriever.domain.search.KbScopedQuery` objects, whose bodies always carry the
caller's knowledge-base filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from ragchat_retriever.domain.search import (
    Candidate,
    ChunkDetailsQuery,
    ChunkHit,
    HitImage,
    KbScopedQuery,
)
from ragchat_retriever.store.chunks import is_transient


class SearchUnavailable(Exception):
    """OpenSearch could not answer now (unreachable, overloaded, timed out); try again later."""


class SearchFailed(Exception):
    """OpenSearch refused a search (a bug in the query or the mapping, not a passing problem)."""


def candidate(raw: dict[str, Any]) -> Candidate:
    """A hit of a candidate query (id, page id from doc values, score) as a :class:`Candidate`."""
    return Candidate(raw["_id"], raw["fields"]["page_id"][0], float(raw["_score"] or 0.0))


def chunk_hit(raw: dict[str, Any]) -> ChunkHit:
    """A hit of a search response as a :class:`ChunkHit`."""
    source = raw["_source"]
    highlight = raw.get("highlight", {}).get("text", [])
    image = source.get("image")
    images = (
        (
            HitImage(
                src=image["src"],
                alt=image.get("alt", ""),
                title=image.get("title", ""),
                caption=image.get("caption", ""),
            ),
        )
        if image
        else ()
    )
    return ChunkHit(
        chunk_id=source["chunk_id"],
        page_id=source["page_id"],
        kb_id=source["kb_id"],
        score=float(raw["_score"] or 0.0),
        url=source["url"],
        title=source.get("title", ""),
        heading_path=tuple(source.get("heading_path", [])),
        text=source["text"],
        snippet=highlight[0] if highlight else "",
        images=images,
        index=raw["_index"],
    )


class ChunkSearchStore:
    """Runs kb-scoped queries against the chunks alias."""

    def __init__(self, client: AsyncOpenSearch, alias: str) -> None:
        self.client = client
        self.alias = alias

    def msearch_body(self, queries: Sequence[KbScopedQuery]) -> list[dict[str, Any]]:
        """The ``_msearch`` body of ``queries``: a header and a scoped body per query.

        Raises :class:`TypeError` for anything that is not a :class:`KbScopedQuery`.
        """
        lines: list[dict[str, Any]] = []
        for query in queries:
            if not isinstance(query, KbScopedQuery):
                raise TypeError(f"only kb-scoped queries reach the index, not {type(query)}")
            lines += [{"index": self.alias}, query.body()]
        return lines

    async def candidates(self, queries: Sequence[KbScopedQuery]) -> list[list[Candidate]]:
        """The candidates of each query, in order, from one ``_msearch`` request."""
        return [[candidate(hit) for hit in hits] for hits in await self._msearch(queries)]

    async def chunks(self, query: ChunkDetailsQuery) -> list[ChunkHit]:
        """The chunks ``query`` names that still exist, whole and highlighted, in its order."""
        (hits,) = await self._msearch([query])
        found = {hit["_id"]: chunk_hit(hit) for hit in hits}
        return [found[chunk_id] for chunk_id in query.chunk_ids if chunk_id in found]

    async def _msearch(self, queries: Sequence[KbScopedQuery]) -> list[list[dict[str, Any]]]:
        """The raw hits of each query, in order, from one ``_msearch`` request."""
        body = self.msearch_body(queries)
        try:
            response = await self.client.msearch(body=body)
        except (OpenSearchConnectionError, ConnectionTimeout) as exc:
            raise SearchUnavailable(f"OpenSearch unreachable: {exc}") from exc
        except TransportError as exc:
            if isinstance(exc.status_code, int) and is_transient(exc.status_code):
                raise SearchUnavailable(f"OpenSearch answered {exc.status_code}") from exc
            raise SearchFailed(str(exc)) from exc
        results: list[list[dict[str, Any]]] = []
        for item in response["responses"]:
            if "error" in item:
                status = int(item.get("status", 500))
                error = item["error"]
                reason = error.get("reason", error) if isinstance(error, dict) else error
                failure = SearchUnavailable if is_transient(status) else SearchFailed
                raise failure(f"OpenSearch search failed ({status}): {reason}")
            results.append(item["hits"]["hits"])
        return results
