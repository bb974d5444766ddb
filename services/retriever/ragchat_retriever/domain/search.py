"""Search rules, free of I/O: who may read what, the OpenSearch queries of each mode, reciprocal
rank fusion, the per-page cap and the rerank stage.

Knowledge-base isolation is structural. The search store accepts nothing but a
:class:`KbScopedQuery`; such a query needs a :class:`KbScope`, which cannot be built without at
least one knowledge base id; and the request body is only ever produced by
:meth:`KbScopedQuery.body`, which puts the scope's filter into it (as a ``bool`` filter for BM25,
as the k-NN query's own ``filter`` for vectors, so HNSW searches only the caller's chunks and
returns ``k`` of them instead of filtering ``k`` global neighbours down to fewer).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

SNIPPET_PRE_TAG = "<mark>"
SNIPPET_POST_TAG = "</mark>"


class SearchMode(StrEnum):
    """How a query is matched: words (BM25), meaning (k-NN), both fused, or CLIP image vectors."""

    HYBRID = "hybrid"
    BM25 = "bm25"
    VECTOR = "vector"
    IMAGE = "image"


class EmptyScope(ValueError):
    """A search named no knowledge base the caller may read."""


class InvalidSearch(ValueError):
    """A search request that cannot be answered as asked (no query, ``k`` out of range, ...)."""


@dataclass(frozen=True)
class KbScope:
    """The knowledge bases (and, when given, the tenant) a caller may read.

    Construction fails with :class:`EmptyScope` without at least one non-blank kb id, so a scope
    always restricts.
    """

    kb_ids: tuple[str, ...]
    tenant_id: str | None = None

    def __post_init__(self) -> None:
        if not self.kb_ids:
            raise EmptyScope("kb_ids is required: name the knowledge bases the caller may read")
        if any(not kb_id.strip() for kb_id in self.kb_ids):
            raise EmptyScope("kb_ids must not contain blank ids")
        if self.tenant_id is not None and not self.tenant_id.strip():
            raise EmptyScope("tenant_id, when given, must not be blank")

    def clauses(self) -> list[dict[str, Any]]:
        """Filter clauses that keep only chunks of these knowledge bases (and tenant)."""
        clauses: list[dict[str, Any]] = [{"terms": {"kb_id": sorted(set(self.kb_ids))}}]
        if self.tenant_id is not None:
            clauses.append({"term": {"tenant_id": self.tenant_id}})
        return clauses


@dataclass(frozen=True)
class SearchFilters:
    """Optional narrowing chosen by the caller (never a widening: the scope always applies)."""

    content_types: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    url_prefix: str = ""

    def clauses(self) -> list[dict[str, Any]]:
        """Filter clauses of the filters that are set."""
        clauses: list[dict[str, Any]] = []
        if self.content_types:
            clauses.append({"terms": {"content_type": list(self.content_types)}})
        if self.languages:
            clauses.append({"terms": {"language": list(self.languages)}})
        if self.url_prefix:
            clauses.append({"prefix": {"url": self.url_prefix}})
        return clauses


@dataclass(frozen=True)
class FieldBoosts:
    """BM25 weight of each text field; the image fields match an image chunk's alt and caption."""

    title: float = 2.0
    heading_path: float = 1.5
    text: float = 1.0
    image_text: float = 1.0

    def fields(self) -> list[str]:
        """``multi_match`` field list with boosts (``title^2``)."""
        return [
            f"title^{self.title}",
            f"heading_path^{self.heading_path}",
            f"text^{self.text}",
            f"image.alt^{self.image_text}",
            f"image.caption^{self.image_text}",
        ]


# Vectors are large and never needed by callers; leaving them out of _source keeps responses
# (and so latency) small.
_SOURCE = {"excludes": ["vector", "image_vector"]}


def _highlight(text: str, snippet_chars: int, own_query: bool) -> dict[str, Any]:
    """Highlight of the ``text`` field: one fragment around the best match, HTML-escaped with the
    matched words in ``<mark>``; the start of the text when nothing matches. A k-NN query has no
    words to highlight, so it highlights with a match query of the same text."""
    fields: dict[str, Any] = {
        "text": {
            "fragment_size": snippet_chars,
            "number_of_fragments": 1,
            "no_match_size": snippet_chars,
        }
    }
    highlight: dict[str, Any] = {
        "pre_tags": [SNIPPET_PRE_TAG],
        "post_tags": [SNIPPET_POST_TAG],
        "encoder": "html",
        "fields": fields,
    }
    if not own_query and text:
        highlight["highlight_query"] = {"match": {"text": text}}
    return highlight


@dataclass(frozen=True)
class KbScopedQuery(ABC):
    """One search request to the chunks index, always restricted to ``scope``.

    The only thing the search store sends; :meth:`body` is the only way to its JSON and always
    includes the scope's filter.
    """

    scope: KbScope
    filters: SearchFilters
    size: int
    snippet_chars: int

    def __post_init__(self) -> None:
        # Even a caller that ignores the type hints cannot smuggle in a hand-made scope object.
        if not isinstance(self.scope, KbScope):
            raise TypeError("a KbScopedQuery needs a KbScope")
        if self.size < 1:
            raise InvalidSearch("a query must ask for at least one hit")

    def filter_clauses(self) -> list[dict[str, Any]]:
        """The scope's clauses, then the caller's filters."""
        return [*self.scope.clauses(), *self.filters.clauses()]

    def body(self) -> dict[str, Any]:
        """The search request body, the scope filter included."""
        return {
            "size": self.size,
            "query": self._query(self.filter_clauses()),
            "_source": _SOURCE,
            "highlight": self._highlight(),
        }

    @abstractmethod
    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        """The query clause, restricted by ``filters``."""

    @abstractmethod
    def _highlight(self) -> dict[str, Any]:
        """The highlight section."""


@dataclass(frozen=True)
class TextMatchQuery(KbScopedQuery):
    """BM25 over title, heading path, text and image text, with field boosts."""

    text: str = ""
    boosts: FieldBoosts = field(default_factory=FieldBoosts)

    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        match = {"multi_match": {"query": self.text, "fields": self.boosts.fields()}}
        return {"bool": {"must": [match], "filter": filters}}

    def _highlight(self) -> dict[str, Any]:
        return _highlight(self.text, self.snippet_chars, own_query=True)


@dataclass(frozen=True)
class VectorQuery(KbScopedQuery):
    """k-NN over one vector field (Lucene HNSW), pre-filtered by the scope.

    ``text`` is the words behind the vector (if any), used only to highlight the snippet.
    """

    vector_field: Literal["vector", "image_vector"] = "vector"
    vector: tuple[float, ...] = ()
    text: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.vector:
            raise InvalidSearch("a vector query needs a vector")

    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        knn = {"vector": list(self.vector), "k": self.size, "filter": {"bool": {"filter": filters}}}
        return {"knn": {self.vector_field: knn}}

    def _highlight(self) -> dict[str, Any]:
        return _highlight(self.text, self.snippet_chars, own_query=False)


@dataclass(frozen=True)
class HitImage:
    """The image an image chunk stands for."""

    src: str
    alt: str = ""
    title: str = ""
    caption: str = ""


@dataclass(frozen=True)
class ChunkHit:
    """One chunk found, with what a caller shows or cites."""

    chunk_id: str
    page_id: str
    kb_id: str
    score: float
    url: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    snippet: str
    images: tuple[HitImage, ...] = ()
    index: str = ""
    """The concrete (versioned) index the hit came from."""


@dataclass(frozen=True)
class RankedList:
    """One ranked result list and its weight in fusion."""

    hits: Sequence[ChunkHit]
    weight: float


def reciprocal_rank_fusion(lists: Sequence[RankedList], rank_constant: int) -> list[ChunkHit]:
    """Fuse ranked lists: a chunk at rank ``r`` (from 1) of a list of weight ``w`` earns
    ``w / (rank_constant + r)``, summed over the lists; best first.

    RRF needs no score calibration between BM25 and cosine scores, only ranks. A chunk keeps the
    fields of the first list it appears in (its snippet, highlighted by that list's query); ties
    are broken by chunk id so results are stable.
    """
    scores: dict[str, float] = {}
    first_seen: dict[str, ChunkHit] = {}
    for ranked in lists:
        for rank, hit in enumerate(ranked.hits, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + ranked.weight / (
                rank_constant + rank
            )
            first_seen.setdefault(hit.chunk_id, hit)
    order = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))
    return [replace(first_seen[chunk_id], score=scores[chunk_id]) for chunk_id in order]


def cap_per_page(hits: Sequence[ChunkHit], max_per_page: int, k: int) -> list[ChunkHit]:
    """The first ``k`` hits, skipping a page's chunks once it has ``max_per_page`` of them."""
    taken: list[ChunkHit] = []
    per_page: dict[str, int] = {}
    for hit in hits:
        if len(taken) == k:
            break
        if per_page.get(hit.page_id, 0) >= max_per_page:
            continue
        per_page[hit.page_id] = per_page.get(hit.page_id, 0) + 1
        taken.append(hit)
    return taken


class Reranker(Protocol):
    """Reorders the fused candidates for a query (e.g. a cross-encoder); may rescore them."""

    async def rerank(self, query: str, hits: Sequence[ChunkHit]) -> list[ChunkHit]:
        """``hits`` in the new order, best first."""
        ...


class IdentityReranker:
    """Keeps the fused order: the default, as no cross-encoder loads offline from a package."""

    async def rerank(self, query: str, hits: Sequence[ChunkHit]) -> list[ChunkHit]:
        """``hits`` unchanged."""
        return list(hits)
