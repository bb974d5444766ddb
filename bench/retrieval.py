"""Search latency of the retriever (a benchmark, not a test): ``make bench-retrieval``.

Serves ``RetrieverService`` in this process on a free gRPC port, exactly as the service wires it
(query encoder, searcher, per-page cap), and for each mode (hybrid, bm25, vector) sends queries one
at a time through gRPC ("ours": what a caller sees, query encoding included) and the very same
``_msearch`` body straight to OpenSearch ("raw": client-side time of the HTTP request), back to
back. It prints p50/p95/p99 of both, of the overhead (ours - raw, query by query), of the
query-encoding time alone (measured separately on the same query), the p95 of the overhead less
the encoding, and OpenSearch's own ``took``.

Indexes measured:

- a synthetic index of ``--size`` chunks (default 1,000,000): 384-d random unit vectors and
  generated text (Zipf-distributed words from a made-up vocabulary), 4 chunks per page, 10
  knowledge bases; every query is scoped to one of them. It is built once, force-merged to one
  segment, and kept in OpenSearch under ``bench-chunks-<size>``; ``.local/bench/`` records that it
  is complete (and how long building took), so later runs reuse it;
- the python3-doc index (``--doc-alias``, the platform's alias by default) when one exists with
  chunks in it (``make bench-ingest`` or a crawl of the site builds it); skipped otherwise.

Image mode is not measured: the synthetic index has no image vectors.

The last line is ``BENCH retrieval hybrid_p95_ms_1m=<n> overhead_p95_ms=<n>``: hybrid p95 of ours
on the synthetic index, and the p95 of its per-query overhead, query encoding included. When
``--size`` is not 1,000,000 the table header says which size the numbers are for.

    .venv/bin/python -m bench.retrieval [--size 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from opensearchpy import AsyncOpenSearch
from prometheus_client import CollectorRegistry
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.rpc import start_grpc_server
from ragchat_common.settings import OpenSearchSettings
from ragchat_retriever.api.search import SERVICE_NAME, RetrieverService, SearchMetrics, register
from ragchat_retriever.domain.search import KbScope, SearchFilters, SearchMode
from ragchat_retriever.domain.searcher import ChunkSearcher, validated_search
from ragchat_retriever.encoders.loaded import QueryModels
from ragchat_retriever.main import create_searcher
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.index import ChunkIndexSpec, ensure_chunk_index
from ragchat_retriever.store.search import ChunkSearchStore

os.environ["HF_HUB_OFFLINE"] = "1"

CACHE = Path(".local/bench")
KBS = 10
CHUNKS_PER_PAGE = 4
BATCH = 2000
MODES = {
    SearchMode.HYBRID: retriever_pb2.SEARCH_MODE_HYBRID,
    SearchMode.BM25: retriever_pb2.SEARCH_MODE_BM25,
    SearchMode.VECTOR: retriever_pb2.SEARCH_MODE_VECTOR,
}
PYTHON_DOC_QUESTIONS = (
    "how do I read a file line by line",
    "list comprehension syntax",
    "difference between a tuple and a list",
    "how to define a class with inheritance",
    "handling exceptions with try except finally",
    "virtual environments and packages",
    "format strings with f-strings",
    "what does the with statement do",
    "how to import a module from a package",
    "dictionary methods keys values items",
    "lambda expressions",
    "how do generators and yield work",
    "reading command line arguments",
    "install a package with pip",
    "floating point arithmetic issues",
    "how to write a for loop over a range",
    "string slicing and indexing",
    "what is the standard library",
    "defining functions with default arguments",
    "how to sort a list",
)


@dataclass(frozen=True)
class Corpus:
    """The made-up language of the synthetic index."""

    words: list[str]
    weights: np.ndarray

    @classmethod
    def make(cls, rng: np.random.Generator, size: int = 20_000) -> Corpus:
        """``size`` pronounceable words with Zipf weights (a few common, most rare)."""
        consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
        words: set[str] = set()
        while len(words) < size:
            syllables = rng.integers(1, 4)
            words.add(
                "".join(
                    consonants[rng.integers(len(consonants))] + vowels[rng.integers(len(vowels))]
                    for _ in range(syllables)
                )
                + consonants[rng.integers(len(consonants))]
            )
        weights = 1.0 / np.arange(1, size + 1)
        return cls(sorted(words), weights / weights.sum())

    def phrases(self, rng: np.random.Generator, count: int, length: int) -> list[str]:
        """``count`` phrases of ``length`` words."""
        picks = rng.choice(len(self.words), size=(count, length), p=self.weights)
        return [" ".join(self.words[i] for i in row) for row in picks]


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    """Random 384-d vectors of length one."""
    vectors = rng.standard_normal((count, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def bulk_lines(start: int, count: int, corpus: Corpus, rng: np.random.Generator) -> str:
    """The ndjson bulk body of chunks ``start`` .. ``start + count``."""
    titles = corpus.phrases(rng, count, 4)
    headings = corpus.phrases(rng, count, 2)
    texts = corpus.phrases(rng, count, 60)
    vectors = unit_vectors(rng, count).round(5).tolist()
    lines = []
    for offset in range(count):
        n = start + offset
        page = n // CHUNKS_PER_PAGE
        kb = f"kb-{page % KBS}"
        document = {
            "chunk_id": f"c{n}",
            "page_id": f"p{page}",
            "kb_id": kb,
            "tenant_id": "bench",
            "url": f"https://synthetic.example/{kb}/{page}",
            "title": titles[offset],
            "heading_path": headings[offset].split(),
            "text": texts[offset],
            "ordinal": n % CHUNKS_PER_PAGE,
            "chunk_count": CHUNKS_PER_PAGE,
            "content_type": "text/html",
            "language": "en",
            "vector": vectors[offset],
        }
        lines.append(json.dumps({"index": {"_id": f"c{n}"}}))
        lines.append(json.dumps(document))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BuiltIndex:
    """A synthetic index ready to search, and what building it cost."""

    alias: str
    size: int
    index_s: float
    merge_s: float
    reused: bool


def record_build(marker: Path, size: int, index_s: float, merge_s: float) -> None:
    """Note in ``.local/bench`` that the index of ``size`` chunks is complete, and its cost."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"size": size, "index_s": index_s, "merge_s": merge_s}))


async def synthetic_index(client: AsyncOpenSearch, size: int, seed: int) -> BuiltIndex:
    """The synthetic index of ``size`` chunks, built unless ``.local/bench`` says it exists."""
    spec = ChunkIndexSpec(alias=f"bench-chunks-{size}", version=1)
    marker = CACHE / f"retrieval-{size}.json"
    if await asyncio.to_thread(marker.exists) and await client.indices.exists(index=spec.alias):
        count = (await client.count(index=spec.alias))["count"]
        if count == size:
            built = json.loads(await asyncio.to_thread(marker.read_text))
            return BuiltIndex(spec.alias, size, built["index_s"], built["merge_s"], reused=True)
    if await client.indices.exists(index=spec.index):
        await client.indices.delete(index=spec.index)
    await ensure_chunk_index(client, spec)
    # No refreshes while loading: one segment flush per refresh would mean many small HNSW
    # graphs to merge later.
    await client.indices.put_settings(index=spec.index, body={"refresh_interval": "-1"})
    rng = np.random.default_rng(seed)
    corpus = Corpus.make(rng)
    started = time.perf_counter()
    for start in range(0, size, BATCH):
        body = bulk_lines(start, min(BATCH, size - start), corpus, rng)
        response = await client.bulk(index=spec.index, body=body, request_timeout=600)
        if response["errors"]:
            raise RuntimeError(f"bulk indexing failed: {response['items'][0]}")
        done = min(start + BATCH, size)
        if done % (BATCH * 25) == 0 or done == size:
            rate = done / (time.perf_counter() - started)
            print(f"  indexed {done:>9,} / {size:,} ({rate:,.0f} chunks/s)", flush=True)
    await client.indices.refresh(index=spec.index, request_timeout=3600)
    index_s = time.perf_counter() - started
    merge_started = time.perf_counter()
    # One segment is one HNSW graph per query instead of one per segment: the steady state of an
    # index that is not being written to.
    await client.indices.forcemerge(index=spec.index, max_num_segments=1, request_timeout=7200)
    merge_s = time.perf_counter() - merge_started
    await client.indices.put_settings(index=spec.index, body={"refresh_interval": "1s"})
    await asyncio.to_thread(record_build, marker, size, index_s, merge_s)
    return BuiltIndex(spec.alias, size, index_s, merge_s, reused=False)


@dataclass
class Timings:
    """Latencies of one mode in milliseconds."""

    ours: list[float]
    raw: list[float]
    took: list[float]
    encode: list[float]


def percentile(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def since_ms(started: float) -> float:
    """Milliseconds from ``started`` (a ``perf_counter`` value) until now."""
    return (time.perf_counter() - started) * 1000


async def measure_mode(
    mode: SearchMode,
    queries: Sequence[tuple[str, str]],
    stub: retriever_pb2_grpc.RetrieverServiceStub,
    searcher: ChunkSearcher,
    store: ChunkSearchStore,
    models: QueryModels,
    warmup: int,
) -> Timings:
    """Ours and raw for each ``(kb id, query)``, alternating so both see the same conditions."""
    timings = Timings([], [], [], [])
    for n, (kb_id, query) in enumerate(queries):
        request = retriever_pb2.SearchRequest(query=query, kb_ids=[kb_id], k=10, mode=MODES[mode])
        started = time.perf_counter()
        await stub.Search(request, timeout=30)
        ours_ms = since_ms(started)
        search = validated_search(
            KbScope((kb_id,)), mode, 10, query, b"", SearchFilters(), searcher.tuning
        )
        started = time.perf_counter()
        vector = await models.embed(query)
        encode_ms = since_ms(started)
        scoped = {
            SearchMode.BM25: [searcher.text_query(search)],
            SearchMode.VECTOR: [searcher.vector_query(search, vector)],
            SearchMode.HYBRID: [searcher.text_query(search), searcher.vector_query(search, vector)],
        }[mode]
        body = store.msearch_body(scoped)
        started = time.perf_counter()
        response = await store.client.msearch(body=body)
        raw_ms = since_ms(started)
        if n < warmup:
            continue
        timings.ours.append(ours_ms)
        timings.raw.append(raw_ms)
        timings.took.append(float(response["took"]))
        if mode is not SearchMode.BM25:
            timings.encode.append(encode_ms)
    return timings


def triple(values: Sequence[float]) -> str:
    """p50/p95/p99 of ``values``."""
    return "/".join(f"{percentile(values, q):.1f}" for q in (50, 95, 99))


def overheads(t: Timings) -> list[float]:
    """Ours minus raw, query by query (the two ran back to back)."""
    return [o - r for o, r in zip(t.ours, t.raw, strict=True)]


def table(title: str, results: dict[SearchMode, Timings]) -> None:
    """Print one index's table (milliseconds; overheads are per-query differences)."""
    print(f"\n{title}")
    print(
        f"{'mode':<8}{'n':>5}  {'ours p50/p95/p99':>20}  {'raw p50/p95/p99':>20}"
        f"  {'overhead p50/p95/p99':>21}  {'encode p50/p95/p99':>20}"
        f"  {'overhead-encode p95':>19}  {'took p95':>8}"
    )
    for mode, t in results.items():
        over = overheads(t)
        encode = triple(t.encode) if t.encode else "-"
        without = (
            f"{percentile([o - e for o, e in zip(over, t.encode, strict=True)], 95):.1f}"
            if t.encode
            else f"{percentile(over, 95):.1f}"
        )
        print(
            f"{mode.value:<8}{len(t.ours):>5}  {triple(t.ours):>20}  {triple(t.raw):>20}"
            f"  {triple(over):>21}  {encode:>20}  {without:>19}  {percentile(t.took, 95):>8.1f}"
        )


async def measure_index(
    alias: str, queries: Sequence[tuple[str, str]], models: QueryModels, warmup: int
) -> dict[SearchMode, Timings]:
    """Every mode over ``alias`` through a gRPC server of our own on a free port."""
    settings = RetrieverSettings(index_alias=alias)
    client = create_opensearch(OpenSearchSettings(), timeout_s=60)
    searcher = create_searcher(settings, client, models)
    service = RetrieverService(searcher, alias, 1, SearchMetrics(CollectorRegistry()))
    server = await start_grpc_server("127.0.0.1", 0, [register(service)], [SERVICE_NAME])
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    stub = retriever_pb2_grpc.RetrieverServiceStub(channel)
    store = ChunkSearchStore(client, alias)
    try:
        return {
            mode: await measure_mode(mode, queries, stub, searcher, store, models, warmup)
            for mode in MODES
        }
    finally:
        await channel.close()
        await server.stop(0)
        await client.close()


async def python_doc_queries(client: AsyncOpenSearch, alias: str) -> list[tuple[str, str]]:
    """The python3-doc questions scoped to the knowledge base holding most chunks; none when the
    index is missing or empty."""
    if not await client.indices.exists(index=alias):
        return []
    response = await client.search(
        index=alias,
        body={"size": 0, "aggs": {"kbs": {"terms": {"field": "kb_id", "size": 1}}}},
    )
    buckets = response["aggregations"]["kbs"]["buckets"]
    if not buckets:
        return []
    return [(buckets[0]["key"], q) for q in PYTHON_DOC_QUESTIONS]


async def main(size: int, queries: int, warmup: int, doc_alias: str, seed: int) -> None:
    """Build or reuse the indices, measure, print the tables and the BENCH line."""
    client = create_opensearch(OpenSearchSettings(), timeout_s=600)
    try:
        print(f"synthetic index: {size:,} chunks")
        built = await synthetic_index(client, size, seed)
        doc_queries = await python_doc_queries(client, doc_alias)
    finally:
        await client.close()
    state = "reused (built earlier" if built.reused else "built now ("
    print(
        f"  {state} indexing {built.index_s:.0f} s = {size / built.index_s:,.0f} chunks/s, "
        f"force-merge {built.merge_s:.0f} s)"
    )
    settings = RetrieverSettings()
    # The service's own model settings (device, encoder threads).
    models = QueryModels(settings.query_model_path, None, settings.device, settings.encoder_threads)
    await models.load()
    rng = np.random.default_rng(seed + 1)
    corpus = Corpus.make(np.random.default_rng(seed))
    synthetic_queries = [
        (f"kb-{rng.integers(KBS)}", phrase) for phrase in corpus.phrases(rng, warmup + queries, 3)
    ]
    synthetic = await measure_index(built.alias, synthetic_queries, models, warmup)
    label = "1M" if size == 1_000_000 else f"{size:,} chunks (NOT 1M)"
    table(
        f"synthetic index, {label}, k=10, one kb of {KBS} per query, {queries} queries per mode",
        synthetic,
    )
    if doc_queries:
        rounds = max(1, queries // len(doc_queries))
        docs = await measure_index(doc_alias, doc_queries * (rounds + 1), models, len(doc_queries))
        table(f"python3-doc index ({doc_alias}), {len(doc_queries)} questions", docs)
    else:
        print(f"\npython3-doc index ({doc_alias}): absent or empty, skipped")
    hybrid = synthetic[SearchMode.HYBRID]
    overhead = percentile(overheads(hybrid), 95)
    print(
        f"BENCH retrieval hybrid_p95_ms_1m={percentile(hybrid.ours, 95):.1f} "
        f"overhead_p95_ms={overhead:.1f}"
    )


def cli() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=1_000_000, help="chunks in the synthetic index")
    parser.add_argument("--queries", type=int, default=200, help="measured queries per mode")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured queries per mode first")
    parser.add_argument("--doc-alias", default="ragchat-chunks", help="the python3-doc index")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.size, args.queries, args.warmup, args.doc_alias, args.seed))


if __name__ == "__main__":
    cli()
