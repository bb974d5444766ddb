"""OpenSearch with the k-NN plugin serves what hybrid retrieval needs: a 384-d ``knn_vector``
(Lucene HNSW, cosine) that finds the true nearest neighbour, and BM25 matching, in one query that
is always filtered by knowledge base."""

from __future__ import annotations

import random

import pytest
from opensearchpy import AsyncOpenSearch
from ragchat_common.settings import OpenSearchSettings

pytestmark = pytest.mark.integration

DIM = 384


def unit(vector: list[float]) -> list[float]:
    norm = sum(x * x for x in vector) ** 0.5
    return [x / norm for x in vector]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture
async def index(opensearch: OpenSearchSettings, unique: str):  # type: ignore[no-untyped-def]
    client = AsyncOpenSearch(hosts=[opensearch.url])
    name = f"test-chunks-{unique}"
    await client.indices.create(
        index=name,
        body={
            "settings": {"index": {"knn": True, "number_of_shards": 1, "number_of_replicas": 0}},
            "mappings": {
                "properties": {
                    "kb_id": {"type": "keyword"},
                    "text": {"type": "text", "analyzer": "english"},
                    "vector": {
                        "type": "knn_vector",
                        "dimension": DIM,
                        "method": {
                            "name": "hnsw",
                            "engine": "lucene",
                            "space_type": "cosinesimil",
                        },
                    },
                }
            },
        },
    )
    try:
        yield client, name
    finally:
        await client.indices.delete(index=name)
        await client.close()


async def test_knn_finds_the_true_nearest_neighbour_and_bm25_matches_in_one_query(index) -> None:  # type: ignore[no-untyped-def]
    client, name = index
    rng = random.Random(7)
    vectors = [unit([rng.gauss(0, 1) for _ in range(DIM)]) for _ in range(200)]
    texts = [f"filler document number {i} about nothing in particular" for i in range(200)]
    texts[42] = "How to reset your router password in three steps"
    actions: list[dict[str, object]] = []
    for i, (vec, txt) in enumerate(zip(vectors, texts, strict=True)):
        kb = "kb-a" if i % 2 == 0 else "kb-b"
        actions += [
            {"index": {"_index": name, "_id": str(i)}},
            {"kb_id": kb, "text": txt, "vector": vec},
        ]
    await client.bulk(body=actions, refresh=True)

    query_vector = unit([v + rng.gauss(0, 0.05) for v in vectors[10]])
    in_kb_a = [i for i in range(200) if i % 2 == 0]
    truth = max(in_kb_a, key=lambda i: cosine(vectors[i], query_vector))

    knn_only = await client.search(
        index=name,
        body={
            "size": 1,
            "query": {
                "knn": {
                    "vector": {
                        "vector": query_vector,
                        "k": 5,
                        "filter": {"term": {"kb_id": "kb-a"}},
                    }
                }
            },
        },
    )
    assert knn_only["hits"]["hits"][0]["_id"] == str(truth)

    both = await client.search(
        index=name,
        body={
            "size": 5,
            "query": {
                "bool": {
                    "filter": [{"term": {"kb_id": "kb-a"}}],
                    "should": [
                        {"match": {"text": "resetting router passwords"}},
                        {"knn": {"vector": {"vector": query_vector, "k": 5}}},
                    ],
                    "minimum_should_match": 1,
                }
            },
        },
    )
    ids = [hit["_id"] for hit in both["hits"]["hits"]]
    assert "42" in ids, "the English analyzer should stem 'resetting' and 'passwords'"
    assert str(truth) in ids
    assert all(int(i) % 2 == 0 for i in ids), "the knowledge-base filter let another kb through"
