"""Search rules, free of I/O: who may read what, the OpenSearch queries of each mode, reciprocal
rank fusion, the per-page cap and the rerank stage.

A search reads the index in two rounds. The candidate queries (BM25, k-NN) return only ids, page
ids and scores: loading ``_source`` and highlighting a snippet for each of 50 candidates per list
cost OpenSearch more than matching them (at 1M chunks, hybrid ``took`` p50 70 ms with them, 48
without). After fusion and the per-page cap, one :class:`ChunkDetailsQuery` loads and highlights
only the chunks that will be returned.

Knowledge-base isolation is structural. The search store accepts nothing but a
:class:`KbScopedQuery`; such a query needs a :class:`KbScope`, which cannot be built without at
least one knowledge base id; and the request body is only ever produced by
:meth:`KbScopedQuery.body`, which puts the scope's filter into it (as a ``bool`` filter for BM25
and for the details round, as the k-NN query's own ``filter`` for vectors, so HNSW searches only
the caller's chunks and returns ``k`` of them instead of filtering ``k`` global neighbours down to
fewer).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar

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


def _highlight(text: str, snippet_chars: int) -> dict[str, Any]:
    """Highlight of the ``text`` field: one fragment around the best match of ``text``'s words,
    HTML-escaped with the matched words in ``<mark>``; the start of the text when nothing
    matches."""
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
    if text:
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
            # No caller reads a total; counting one would stop BM25 from skipping blocks of
            # documents that cannot reach the top hits.
            "track_total_hits": False,
            **self._loaded(),
        }

    @abstractmethod
    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        """The query clause, restricted by ``filters``."""

    def _loaded(self) -> dict[str, Any]:
        """What is loaded per hit: a candidate needs only its id (``_id``), page id and score."""
        return {"_source": False, "docvalue_fields": ["page_id"]}


@dataclass(frozen=True)
class TextMatchQuery(KbScopedQuery):
    """BM25 over title, heading path, text and image text, with field boosts."""

    text: str = ""
    boosts: FieldBoosts = field(default_factory=FieldBoosts)

    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        match = {"multi_match": {"query": self.text, "fields": self.boosts.fields()}}
        return {"bool": {"must": [match], "filter": filters}}


@dataclass(frozen=True)
class VectorQuery(KbScopedQuery):
    """k-NN over one vector field (Lucene HNSW), pre-filtered by the scope.

    HNSW keeps ``k`` candidates while it walks the graph, so ``k`` is also its beam width: the
    query asks for ``max(size, beam)`` neighbours and the response keeps the best ``size``. A
    beam of 50 missed neighbours of the exact top 50 on python3-doc (45 of 50 for "walrus :=");
    100 found them all.
    """

    vector_field: Literal["vector", "image_vector"] = "vector"
    vector: tuple[float, ...] = ()
    beam: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.vector:
            raise InvalidSearch("a vector query needs a vector")

    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        knn = {
            "vector": list(self.vector),
            "k": max(self.size, self.beam),
            "filter": {"bool": {"filter": filters}},
        }
        return {"knn": {self.vector_field: knn}}


@dataclass(frozen=True)
class ChunkDetailsQuery(KbScopedQuery):
    """The second round: the chosen chunks by id, whole, with the snippet highlighted for ``text``
    (the start of the chunk when nothing matches or there is no text, as for an image query)."""

    chunk_ids: tuple[str, ...] = ()
    text: str = ""
    snippet_chars: int = 200

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.chunk_ids) != self.size:
            raise InvalidSearch("a details query loads exactly the chunks it names")

    def _query(self, filters: list[dict[str, Any]]) -> dict[str, Any]:
        return {"bool": {"filter": [*filters, {"ids": {"values": list(self.chunk_ids)}}]}}

    def _loaded(self) -> dict[str, Any]:
        return {"_source": _SOURCE, "highlight": _highlight(self.text, self.snippet_chars)}


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
class Candidate:
    """A chunk a candidate query matched: enough to fuse, cap per page and fetch it."""

    chunk_id: str
    page_id: str
    score: float


@dataclass(frozen=True)
class RankedList:
    """One ranked candidate list and its weight in fusion."""

    hits: Sequence[Candidate]
    weight: float


def reciprocal_rank_fusion(lists: Sequence[RankedList], rank_constant: int) -> list[Candidate]:
    """Fuse ranked lists: a chunk at rank ``r`` (from 1) of a list of weight ``w`` earns
    ``w / (rank_constant + r)``, summed over the lists; best first.

    RRF needs no score calibration between BM25 and cosine scores, only ranks. Ties are broken by
    chunk id so results are stable.
    """
    scores: dict[str, float] = {}
    first_seen: dict[str, Candidate] = {}
    for ranked in lists:
        for rank, hit in enumerate(ranked.hits, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + ranked.weight / (
                rank_constant + rank
            )
            first_seen.setdefault(hit.chunk_id, hit)
    order = sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))
    return [replace(first_seen[chunk_id], score=scores[chunk_id]) for chunk_id in order]


class OnPage(Protocol):
    """Anything that belongs to a page (a candidate, a hit)."""

    @property
    def page_id(self) -> str:
        """The page's id."""
        ...


PageItem = TypeVar("PageItem", bound=OnPage)


def cap_per_page(hits: Sequence[PageItem], max_per_page: int, k: int) -> list[PageItem]:
    """The first ``k`` hits, skipping a page's chunks once it has ``max_per_page`` of them."""
    taken: list[PageItem] = []
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
    """Reorders the best fused chunks for a query (e.g. a cross-encoder); may rescore them."""

    def shortlist(self, k: int) -> int:
        """How many fused, page-capped chunks it reads (whole) to choose the best ``k``."""
        ...

    async def rerank(self, query: str, hits: Sequence[ChunkHit]) -> list[ChunkHit]:
        """``hits`` in the new order, best first."""
        ...


class IdentityReranker:
    """Keeps the fused order: the default, as no cross-encoder loads offline from a package."""

    def shortlist(self, k: int) -> int:
        """Exactly ``k``: the fused order is final, so only the returned chunks are loaded."""
        return k

    async def rerank(self, query: str, hits: Sequence[ChunkHit]) -> list[ChunkHit]:
        """``hits`` unchanged."""
        return list(hits)
