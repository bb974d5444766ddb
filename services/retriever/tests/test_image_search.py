"""Image mode through a real gRPC server and a real OpenSearch index with CLIP image vectors (from
a tiny CLIP built locally): an image finds the chunk of the same image, a text query ranks image
chunks by cosine to its CLIP text vector, and the caller's knowledge bases still bound it all."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import grpc
import numpy as np
import pytest
from PIL import Image
from prometheus_client import CollectorRegistry
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.events import ChunkEmbedded, ImageRef, chunk_id_for, page_id_for
from ragchat_common.rpc import start_grpc_server
from ragchat_common.settings import OpenSearchSettings
from ragchat_retriever.api.search import SERVICE_NAME, RetrieverService, SearchMetrics, register
from ragchat_retriever.domain.chunks import chunk_document
from ragchat_retriever.encoders.loaded import QueryModels
from ragchat_retriever.main import create_searcher
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.chunks import ChunkStore
from ragchat_retriever.store.index import ensure_chunk_index

pytestmark = pytest.mark.integration

KB_A = UUID(int=0xA1)
KB_B = UUID(int=0xB1)
COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")


def png(colour: str) -> bytes:
    """A 40x40 picture: a coloured square with a white stripe."""
    image = Image.new("RGB", (40, 40), colour)
    image.paste("white", (0, 16, 40, 24))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_chunk(
    kb_id: UUID, colour: str, vector: list[float], image_vector: list[float]
) -> ChunkEmbedded:
    url = f"https://shop.example/{kb_id}/{colour}"
    page_id = page_id_for(kb_id, url)
    text = f"A {colour} square"
    content_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
    return ChunkEmbedded(
        chunk_id=chunk_id_for(page_id, 0, content_hash),
        page_id=page_id,
        crawl_id=UUID(int=1),
        kb_id=kb_id,
        tenant_id=UUID(int=1),
        url=url,
        title=f"{colour} page",
        ordinal=0,
        chunk_count=1,
        text=text,
        content_hash=content_hash,
        vector=vector,
        image=ImageRef(src=f"https://shop.example/img/{colour}.png", alt=text),
        image_vector=image_vector,
    )


@dataclass
class ImageRetriever:
    stub: retriever_pb2_grpc.RetrieverServiceStub
    image_vectors: dict[str, np.ndarray]
    """Chunk id -> CLIP image vector of every image chunk of kb A."""
    models: QueryModels

    async def search(self, kb_ids: list[UUID], **fields: object) -> list[retriever_pb2.SearchHit]:
        request = retriever_pb2.SearchRequest(
            kb_ids=[str(kb) for kb in kb_ids], mode=retriever_pb2.SEARCH_MODE_IMAGE, **fields
        )
        return list((await self.stub.Search(request, timeout=30)).hits)


@pytest.fixture
async def image_retriever(
    opensearch: OpenSearchSettings, unique: str, tiny_clip_path: Path, query_models: QueryModels
) -> AsyncIterator[ImageRetriever]:
    settings = RetrieverSettings(
        index_alias=f"test-image-search-{unique}",
        image_vectors=True,
        clip_model_path=tiny_clip_path,
        search_max_chunks_per_page=1,
    )
    models = QueryModels(clip_model_path=tiny_clip_path, device="cpu")
    await models.load()
    text_vector = list(await query_models.embed("a coloured square"))
    chunks = [
        image_chunk(kb, colour, text_vector, list(await models.embed_image(png(colour))))
        for kb in (KB_A, KB_B)
        for colour in COLOURS
    ]
    client = create_opensearch(opensearch)
    await ensure_chunk_index(client, settings.chunk_index())
    outcome = await ChunkStore(client, settings.index_alias).index(
        {c.chunk_id: chunk_document(c, image_vectors=True) for c in chunks}
    )
    assert len(outcome.indexed) == len(chunks)
    service = RetrieverService(
        create_searcher(settings, client, models),
        settings.index_alias,
        settings.index_version,
        SearchMetrics(CollectorRegistry()),
    )
    server = await start_grpc_server("127.0.0.1", 0, [register(service)], [SERVICE_NAME])
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield ImageRetriever(
            retriever_pb2_grpc.RetrieverServiceStub(channel),
            {c.chunk_id: np.array(c.image_vector) for c in chunks if c.kb_id == KB_A},
            models,
        )
    finally:
        await channel.close()
        await server.stop(0)
        await client.indices.delete(index=f"{settings.index_alias}-v*")
        await client.close()


@pytest.mark.parametrize("colour", ["red", "blue", "orange"])
async def test_an_image_finds_the_chunk_of_the_same_image(
    image_retriever: ImageRetriever, colour: str
) -> None:
    hits = await image_retriever.search([KB_A], image=png(colour), k=3)

    assert hits[0].url == f"https://shop.example/{KB_A}/{colour}"
    assert [(i.src, i.alt) for i in hits[0].images] == [
        (f"https://shop.example/img/{colour}.png", f"A {colour} square")
    ]
    assert hits[0].score > hits[1].score


async def test_a_text_ranks_images_by_cosine_to_its_clip_text_vector(
    image_retriever: ImageRetriever,
) -> None:
    query = "yellow square"
    text_vector = np.array(await image_retriever.models.embed_text(query))
    expected = sorted(
        image_retriever.image_vectors,
        key=lambda chunk_id: -float(image_retriever.image_vectors[chunk_id] @ text_vector),
    )

    hits = await image_retriever.search([KB_A], query=query, k=len(COLOURS))

    assert [h.chunk_id for h in hits] == expected


@pytest.mark.parametrize("query", [{"query": "red square"}, {"image": png("red")}])
async def test_image_mode_keeps_to_the_callers_knowledge_bases(
    image_retriever: ImageRetriever, query: dict[str, object]
) -> None:
    a_only = await image_retriever.search([KB_A], k=20, **query)
    b_only = await image_retriever.search([KB_B], k=20, **query)

    assert {h.kb_id for h in a_only} == {str(KB_A)} and len(a_only) == len(COLOURS)
    assert {h.kb_id for h in b_only} == {str(KB_B)} and len(b_only) == len(COLOURS)


async def test_an_undecodable_image_is_refused(image_retriever: ImageRetriever) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await image_retriever.search([KB_A], image=b"not an image")

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot be decoded" in str(refused.value.details())
