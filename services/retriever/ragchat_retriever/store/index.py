"""The chunks index: an alias over a versioned index, and its mapping.

Readers and writers only ever name the alias (``ragchat-chunks``); the data lives in a versioned
index (``ragchat-chunks-v1``). A mapping change is a new version: at start the new index is created,
the documents of the old one are copied into it server-side (``_reindex``) and the alias is moved in
one atomic step, so searches never see an empty or half-built index. Old-version indexers still
running during such a rollout write to the old index until they stop; stop them first.

Bootstrapping is idempotent and safe when several replicas start together: creating an index that
already exists and adding an alias that is already there are both accepted as success.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError, RequestError
from ragchat_common.health import Probe
from ragchat_common.logs import get_logger

log = get_logger(__name__)

TEXT_VECTOR_DIMENSION = 384
"""all-MiniLM-L6-v2 (see MODELS.md)."""
IMAGE_VECTOR_DIMENSION = 512
"""CLIP ViT-B/32 image embeddings."""


@dataclass(frozen=True)
class ChunkIndexSpec:
    """Which chunks index a deployment uses and how it is laid out."""

    alias: str
    version: int
    shards: int = 1
    replicas: int = 0
    image_vectors: bool = False

    @property
    def index(self) -> str:
        """Name of the versioned index behind the alias."""
        return f"{self.alias}-v{self.version}"


def _hnsw_vector(dimension: int) -> dict[str, Any]:
    return {
        "type": "knn_vector",
        "dimension": dimension,
        "method": {"name": "hnsw", "engine": "lucene", "space_type": "cosinesimil"},
    }


def chunk_index_body(spec: ChunkIndexSpec) -> dict[str, Any]:
    """Settings and mapping of a chunks index of ``spec``'s version.

    The mapping is strict: a document with a field it does not name is rejected instead of
    silently growing the mapping, so a producer bug shows up as a dead-lettered chunk.
    """
    english = {"type": "text", "analyzer": "english"}
    # Keywords longer than Lucene's term limit would fail the whole document; such URLs are
    # still stored, only not filterable.
    long_keyword = {"type": "keyword", "ignore_above": 2048}
    properties: dict[str, Any] = {
        "chunk_id": {"type": "keyword"},
        "page_id": {"type": "keyword"},
        "kb_id": {"type": "keyword"},
        "tenant_id": {"type": "keyword"},
        "crawl_id": {"type": "keyword"},
        "url": long_keyword,
        "content_type": {"type": "keyword"},
        "language": {"type": "keyword"},
        "content_hash": {"type": "keyword"},
        "title": english,
        "heading_path": english,
        "text": english,
        "ordinal": {"type": "integer"},
        "chunk_count": {"type": "integer"},
        "crawled_at": {"type": "date"},
        "vector": _hnsw_vector(TEXT_VECTOR_DIMENSION),
        "image": {
            "properties": {
                "src": long_keyword,
                "alt": english,
                "title": english,
                "caption": english,
            }
        },
    }
    if spec.image_vectors:
        properties["image_vector"] = _hnsw_vector(IMAGE_VECTOR_DIMENSION)
    return {
        "settings": {
            "index": {
                "knn": True,
                "number_of_shards": spec.shards,
                "number_of_replicas": spec.replicas,
                # Set explicitly so a shard without searches for a while (search-idle) keeps
                # refreshing: deletions by query become invisible to searches only at a refresh.
                "refresh_interval": "1s",
            }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"index_version": spec.version},
            "properties": properties,
        },
    }


def version_of(index: str, alias: str) -> int | None:
    """The version in an index name ``<alias>-v<n>``, or ``None`` for a name of another form."""
    prefix = f"{alias}-v"
    suffix = index.removeprefix(prefix)
    return int(suffix) if index.startswith(prefix) and suffix.isdigit() else None


async def _create_index(client: AsyncOpenSearch, spec: ChunkIndexSpec) -> bool:
    """Create the versioned index; ``False`` when it already existed (another replica won)."""
    try:
        await client.indices.create(index=spec.index, body=chunk_index_body(spec))
    except RequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
        return False
    log.info("chunk index created", index=spec.index)
    return True


async def _aliased_indices(client: AsyncOpenSearch, alias: str) -> list[str]:
    """The indices the alias points to now (none when it does not exist)."""
    try:
        return sorted(await client.indices.get_alias(name=alias))
    except NotFoundError:
        return []


async def ensure_chunk_index(client: AsyncOpenSearch, spec: ChunkIndexSpec) -> None:
    """Make the alias point at ``spec``'s versioned index, creating and filling it if needed.

    Raises :class:`RuntimeError` when a concrete index has the alias's name (a write before the
    alias existed auto-creates one): that index would shadow the alias and must be removed.
    """
    if await client.indices.exists(index=spec.alias) and not await client.indices.exists_alias(
        name=spec.alias
    ):
        raise RuntimeError(f"an index named {spec.alias!r} exists where the alias should be")
    if not await _create_index(client, spec) and spec.image_vectors:
        # Image vectors turned on for an existing index: adding a field is allowed in place
        # (and repeating it is a no-op), so this needs no new version.
        await client.indices.put_mapping(
            index=spec.index,
            body={"properties": {"image_vector": _hnsw_vector(IMAGE_VECTOR_DIMENSION)}},
        )
    current = await _aliased_indices(client, spec.alias)
    if current == [spec.index]:
        return
    newer = [i for i in current if (version_of(i, spec.alias) or 0) > spec.version]
    if newer:
        log.warning("alias already on a newer index", alias=spec.alias, indices=newer)
        return
    old = [i for i in current if i != spec.index]
    if old:
        # Copy what the old version holds; ids are chunk ids, so repeating this is harmless.
        # The copy reads by search, which sees only refreshed documents: refresh first.
        await client.indices.refresh(index=",".join(old))
        await client.reindex(
            body={"source": {"index": old}, "dest": {"index": spec.index}},
            refresh=True,
            wait_for_completion=True,
        )
    actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": spec.alias}} for i in old]
    actions.append({"add": {"index": spec.index, "alias": spec.alias, "is_write_index": True}})
    try:
        await client.indices.update_aliases(body={"actions": actions})
    except NotFoundError:
        # A replica starting at the same moment moved the alias first; check it landed here.
        if spec.index not in await _aliased_indices(client, spec.alias):
            raise
    log.info("chunk index alias set", alias=spec.alias, index=spec.index, previous=old)


async def live_index_version(client: AsyncOpenSearch, alias: str) -> int:
    """The version of the index the alias points at now (from its mapping's ``_meta``).

    Caches of search results key on it, so a reindex into a new version invalidates them.
    """
    mappings = await client.indices.get_mapping(index=alias)
    versions = {int(m["mappings"]["_meta"]["index_version"]) for m in mappings.values()}
    if len(versions) != 1:
        raise LookupError(f"alias {alias} spans indices of versions {sorted(versions)}")
    return versions.pop()


def chunk_index_probe(client: AsyncOpenSearch, spec: ChunkIndexSpec) -> Probe:
    """Readiness probe: the alias points at this version's index; the detail names it."""

    async def probe() -> str | None:
        indices = await _aliased_indices(client, spec.alias)
        if spec.index not in indices:
            raise LookupError(f"alias {spec.alias} points at {indices}, not {spec.index}")
        return f"{spec.alias} -> {spec.index} (version {spec.version})"

    return probe
