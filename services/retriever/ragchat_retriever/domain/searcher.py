"""ChunkSearcher: one search request from validation to ranked, capped hits.

Per mode: BM25 and k-NN alone return their own order of candidates; hybrid fuses both by
reciprocal rank fusion, sending the BM25 query at once and the k-NN query as soon as the query is
encoded, so OpenSearch matches words while the encoder runs (on 2 cores this hides the encoding,
about 9 ms, behind BM25); image mode runs k-NN over CLIP image vectors with a CLIP vector of the
query text or image. Every mode then keeps at most N chunks per page, loads the reranker's
shortlist whole (with highlighted snippets) in a second round, and returns the reranker's best
``k``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ragchat_retriever.domain.search import (
    Candidate,
    ChunkDetailsQuery,
    ChunkHit,
    FieldBoosts,
    IdentityReranker,
    InvalidSearch,
    KbScope,
    KbScopedQuery,
    RankedList,
    Reranker,
    SearchFilters,
    SearchMode,
    TextMatchQuery,
    VectorQuery,
    cap_per_page,
    reciprocal_rank_fusion,
)


class ImageSearchUnavailable(Exception):
    """Image mode was asked for where image vectors are off or no CLIP model is configured."""


class UnreadableImage(ValueError):
    """The query image is not an image this process can decode."""


class ScopedSearchStore(Protocol):
    """Runs kb-scoped queries (the search store)."""

    async def candidates(self, queries: Sequence[KbScopedQuery]) -> list[list[Candidate]]:
        """The candidates of each query, in order."""
        ...

    async def chunks(self, query: ChunkDetailsQuery) -> list[ChunkHit]:
        """The chunks ``query`` names that still exist, in its order."""
        ...


class TextVectors(Protocol):
    """Query text to a vector in the chunks' text vector space."""

    async def embed(self, query: str) -> tuple[float, ...]:
        """The query's vector."""
        ...


class ImageVectors(Protocol):
    """Query text or image to a vector in the CLIP image vector space."""

    async def embed_text(self, query: str) -> tuple[float, ...]:
        """The CLIP text vector of ``query``."""
        ...

    async def embed_image(self, data: bytes) -> tuple[float, ...]:
        """The CLIP image vector of an encoded image."""
        ...


@dataclass(frozen=True)
class SearchTuning:
    """Knobs of ranking, from the settings."""

    default_k: int = 10
    max_k: int = 100
    candidates: int = 50
    knn_beam: int = 100
    max_chunks_per_page: int = 2
    rrf_rank_constant: int = 60
    bm25_weight: float = 1.0
    vector_weight: float = 1.0
    boosts: FieldBoosts = field(default_factory=FieldBoosts)
    snippet_chars: int = 200


@dataclass(frozen=True)
class ChunkSearch:
    """A validated search: what to match, where, how many."""

    scope: KbScope
    mode: SearchMode
    k: int
    query: str = ""
    image: bytes = b""
    filters: SearchFilters = field(default_factory=SearchFilters)


def validated_search(
    scope: KbScope,
    mode: SearchMode,
    k: int,
    query: str,
    image: bytes,
    filters: SearchFilters,
    tuning: SearchTuning,
) -> ChunkSearch:
    """A :class:`ChunkSearch`, or :class:`InvalidSearch` saying what is wrong with the request.

    ``k`` 0 means the default; an image is only a query in image mode.
    """
    if k < 0 or k > tuning.max_k:
        raise InvalidSearch(f"k must be between 1 and {tuning.max_k} (0 for {tuning.default_k})")
    if image and mode is not SearchMode.IMAGE:
        raise InvalidSearch("an image query needs mode image")
    if mode is SearchMode.IMAGE:
        if not image and not query.strip():
            raise InvalidSearch("image mode needs a query text or an image")
        if image and query.strip():
            raise InvalidSearch("image mode takes a query text or an image, not both")
    elif not query.strip():
        raise InvalidSearch("query is required")
    return ChunkSearch(scope, mode, k or tuning.default_k, query.strip(), image, filters)


class ChunkSearcher:
    """Answers :class:`ChunkSearch` requests from the chunks index."""

    def __init__(
        self,
        store: ScopedSearchStore,
        text: TextVectors,
        image: ImageVectors | None,
        tuning: SearchTuning,
        reranker: Reranker | None = None,
    ) -> None:
        self.store = store
        self.text = text
        self.image = image
        self.tuning = tuning
        self.reranker: Reranker = reranker or IdentityReranker()

    def _candidates(self, k: int) -> int:
        """Hits each sub-query fetches: enough for the per-page cap to still fill ``k``."""
        return max(self.tuning.candidates, k * (self.tuning.max_chunks_per_page + 1))

    def text_query(self, search: ChunkSearch) -> TextMatchQuery:
        """The BM25 query of ``search``."""
        return TextMatchQuery(
            scope=search.scope,
            filters=search.filters,
            size=self._candidates(search.k),
            text=search.query,
            boosts=self.tuning.boosts,
        )

    def vector_query(self, search: ChunkSearch, vector: tuple[float, ...]) -> VectorQuery:
        """The k-NN query of ``search`` over text vectors (image vectors in image mode)."""
        return VectorQuery(
            scope=search.scope,
            filters=search.filters,
            size=self._candidates(search.k),
            vector_field="image_vector" if search.mode is SearchMode.IMAGE else "vector",
            vector=vector,
            beam=self.tuning.knn_beam,
        )

    async def _image_vector(self, search: ChunkSearch) -> tuple[float, ...]:
        if self.image is None:
            raise ImageSearchUnavailable(
                "image search is off: this retriever has no CLIP model and image vectors "
                "(RETRIEVER_CLIP_MODEL_PATH and RETRIEVER_IMAGE_VECTORS)"
            )
        if search.image:
            return await self.image.embed_image(search.image)
        return await self.image.embed_text(search.query)

    def details_query(
        self, search: ChunkSearch, shortlist: Sequence[Candidate]
    ) -> ChunkDetailsQuery:
        """The second round of ``search``: the ``shortlist`` chunks, whole, snippets highlighted."""
        return ChunkDetailsQuery(
            scope=search.scope,
            filters=search.filters,
            size=len(shortlist),
            chunk_ids=tuple(candidate.chunk_id for candidate in shortlist),
            text=search.query,
            snippet_chars=self.tuning.snippet_chars,
        )

    async def ranked(self, search: ChunkSearch) -> list[Candidate]:
        """Candidates of ``search`` in ranked order, before the per-page cap and reranking."""
        if search.mode is SearchMode.BM25:
            (hits,) = await self.store.candidates([self.text_query(search)])
            return hits
        if search.mode is SearchMode.IMAGE:
            vector = await self._image_vector(search)
            (hits,) = await self.store.candidates([self.vector_query(search, vector)])
            return hits
        if search.mode is SearchMode.VECTOR:
            return await self._knn_candidates(search)
        try:
            async with asyncio.TaskGroup() as group:
                bm25 = group.create_task(self.store.candidates([self.text_query(search)]))
                knn = group.create_task(self._knn_candidates(search))
        except ExceptionGroup as failed:
            # Callers handle the store's and encoder's own errors; both halves fail alike.
            raise failed.exceptions[0] from None
        return reciprocal_rank_fusion(
            [
                RankedList(bm25.result()[0], self.tuning.bm25_weight),
                RankedList(knn.result(), self.tuning.vector_weight),
            ],
            self.tuning.rrf_rank_constant,
        )

    async def _knn_candidates(self, search: ChunkSearch) -> list[Candidate]:
        """k-NN candidates of the query's text vector."""
        vector = await self.text.embed(search.query)
        (hits,) = await self.store.candidates([self.vector_query(search, vector)])
        return hits

    async def search(self, search: ChunkSearch) -> list[ChunkHit]:
        """The best ``search.k`` hits, at most N per page, reranked."""
        candidates = await self.ranked(search)
        shortlist = cap_per_page(
            candidates, self.tuning.max_chunks_per_page, self.reranker.shortlist(search.k)
        )
        if not shortlist:
            return []
        scores = {candidate.chunk_id: candidate.score for candidate in shortlist}
        hits = [
            replace(hit, score=scores[hit.chunk_id])
            for hit in await self.store.chunks(self.details_query(search, shortlist))
        ]
        reranked = await self.reranker.rerank(search.query, hits)
        return reranked[: search.k]
