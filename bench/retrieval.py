"""Search latency of the retriever (a benchmark, not a test): ``make bench-retrieval``.

Serves ``RetrieverService`` in this process on a free gRPC port, exactly as the service wires it
(query encoder, searcher, per-page cap), and for each mode (hybrid, bm25, vector) sends queries one
at a time through gRPC ("ours": what a caller sees, query encoding included), then replays the very
same OpenSearch requests that search made, as it made them (hybrid: the BM25 and k-NN candidate
queries together, then the chosen chunks' details) straight to OpenSearch ("raw": client-side
time of the HTTP requests), back to back. It prints p50/p95/p99 of both; of the overhead, ours
less the time during which that very search had an OpenSearch request under way (timed by the
service's client: gRPC, query encoding not hidden behind a request, query building, parsing the
answers, fusion and the reply; OpenSearch's own time and its variance left out); of the
query-encoding time alone (measured separately on the same query); the p95 of the overhead less
the encoding; the p95 of ours - raw query by query (which also holds the variance between
OpenSearch requests); and OpenSearch's own ``took`` (the longest of concurrent requests, summed
over the rounds).

Indexes measured:

- a synthetic index of ``--size`` chunks (default 1,000,000): generated text (Zipf-distributed
  words from a made-up vocabulary), 4 chunks per page, 10 knowledge bases, and 384-d unit vectors
  with the structure of text embeddings rather than uniform noise. Uniformly random 384-d vectors
  are a worst case no sentence encoder produces: real embeddings cluster by topic and share
  directions with the words they contain, and HNSW graphs over such data are both built and
  searched with fewer distance computations. So each vector is the page's topic direction (one
  of 256) plus 0.7 times the normalised sum of the chunk's word vectors, each word weighted by
  its information (-log p): chunks of a topic cluster, chunks sharing rare words lie closer.
  Queries stay real k-NN searches: a 3-word phrase encoded by the real query model, k-NN over the
  whole index filtered to one knowledge base (about a tenth of the chunks), as the product does.
  The index uses the product's mapping; it is built once (bulk requests two at a time, no
  refreshes, async translog, merges held back; resumable after an interruption), force-merged to
  one segment (with the k-NN plugin's graph threads set to the node's processors meanwhile) and
  kept in OpenSearch under ``bench-chunks-<size>``; ``.local/bench/`` records that it is complete
  (and how long building took), so later runs reuse it;
- the python3-doc index (``--doc-alias``, the platform's alias by default) when one exists with
  chunks in it (``make bench-ingest`` or a crawl of the site builds it); skipped otherwise.

Image mode is not measured: the synthetic index has no image vectors.

The last line is ``BENCH retrieval hybrid_p95_ms_1m=<n> overhead_p95_ms=<n>``: hybrid p95 of ours
on the synthetic index, and the p95 of its per-query overhead (as above), query encoding
included. When ``--size`` is not 1,000,000 the table header says which size the numbers are for.

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
from typing import Any

import grpc
import numpy as np
from opensearchpy import AsyncOpenSearch
from prometheus_client import CollectorRegistry
from ragchat.v1 import retriever_pb2, retriever_pb2_grpc
from ragchat_common.rpc import start_grpc_server
from ragchat_common.settings import OpenSearchSettings
from ragchat_retriever.api.search import SERVICE_NAME, RetrieverService, SearchMetrics, register
from ragchat_retriever.domain.search import SearchMode
from ragchat_retriever.encoders.loaded import QueryModels
from ragchat_retriever.main import create_searcher
from ragchat_retriever.settings import RetrieverSettings
from ragchat_retriever.store import create_opensearch
from ragchat_retriever.store.index import ChunkIndexSpec, ensure_chunk_index

os.environ["HF_HUB_OFFLINE"] = "1"

CACHE = Path(".local/bench")
KBS = 10
CHUNKS_PER_PAGE = 4
BATCH = 2000
IN_FLIGHT = 2
TOPICS = 256
WORD_SHARE = 0.7
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
    """The made-up language of the synthetic index, and where its words point in vector space."""

    words: np.ndarray
    weights: np.ndarray
    word_vectors: np.ndarray
    topic_vectors: np.ndarray

    @classmethod
    def make(cls, rng: np.random.Generator, size: int = 20_000) -> Corpus:
        """``size`` pronounceable words with Zipf weights (a few common, most rare), a random
        unit vector per word and per topic."""
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
        return cls(
            np.array(sorted(words), dtype=object),
            weights / weights.sum(),
            unit_vectors(rng, size),
            unit_vectors(rng, TOPICS),
        )

    def picks(self, rng: np.random.Generator, count: int, length: int) -> np.ndarray:
        """Word indices of ``count`` phrases of ``length`` words."""
        return rng.choice(len(self.words), size=(count, length), p=self.weights)

    def texts(self, picks: np.ndarray) -> list[str]:
        """The phrases of :meth:`picks`' indices."""
        return [" ".join(row) for row in self.words[picks].tolist()]

    def phrases(self, rng: np.random.Generator, count: int, length: int) -> list[str]:
        """``count`` phrases of ``length`` words."""
        return self.texts(self.picks(rng, count, length))

    def chunk_vectors(self, picks: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """Unit vectors of chunks with these words and page topics: the page's topic plus the
        chunk's own words, each weighted by its information (-log p, so rare words count most)."""
        information = -np.log(self.weights).astype(np.float32)
        words = np.zeros((len(picks), self.word_vectors.shape[1]), dtype=np.float32)
        for column in picks.T:  # a (count, 384) gather per word position keeps memory small
            words += information[column, None] * self.word_vectors[column]
        words /= np.linalg.norm(words, axis=1, keepdims=True)
        vectors = self.topic_vectors[topics] + WORD_SHARE * words
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    """Random 384-d vectors of length one."""
    vectors = rng.standard_normal((count, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# Vector components as JSON numbers, 4 decimals, indexed by round(x * 10^4) + 10^4: formatting
# a million 384-d vectors float by float would cost the build minutes of the same 2 cores
# OpenSearch needs.
_COMPONENTS = np.array([f"{i / 10_000:.4f}" for i in range(-10_000, 10_001)], dtype=object)


def vector_json(vectors: np.ndarray) -> list[str]:
    """Each row of ``vectors`` (components in [-1, 1]) as a JSON array."""
    cells = _COMPONENTS[np.rint(vectors * 10_000).astype(np.int32) + 10_000]
    return ["[" + ",".join(row) + "]" for row in cells.tolist()]


def bulk_lines(start: int, count: int, corpus: Corpus, rng: np.random.Generator) -> bytes:
    """The ndjson bulk body of chunks ``start`` .. ``start + count``."""
    titles = corpus.phrases(rng, count, 4)
    headings = corpus.phrases(rng, count, 2)
    text_picks = corpus.picks(rng, count, 60)
    texts = corpus.texts(text_picks)
    pages = np.arange(start, start + count) // CHUNKS_PER_PAGE
    # A page's topic is a fixed function of the page, whichever batch holds its chunks.
    topics = (pages * 2_654_435_761) % TOPICS
    vectors = vector_json(corpus.chunk_vectors(text_picks, topics))
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
        }
        lines.append(f'{{"index":{{"_id":"c{n}"}}}}')
        lines.append(json.dumps(document)[:-1] + ',"vector":' + vectors[offset] + "}")
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class BuiltIndex:
    """A synthetic index ready to search, and what building it cost."""

    alias: str
    size: int
    index_s: float
    merge_s: float
    reused: bool
    indexed: int
    """Chunks the timed indexing wrote (fewer than ``size`` when a build was resumed)."""


def record_build(marker: Path, size: int, index_s: float, merge_s: float, indexed: int) -> None:
    """Note in ``.local/bench`` that the index of ``size`` chunks is complete, and its cost."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(
        json.dumps({"size": size, "index_s": index_s, "merge_s": merge_s, "indexed": indexed})
    )


# While loading: no refreshes (each would flush a small segment with its own HNSW graph), no
# fsync per request, and merges only of many segments at once, since every merge rebuilds HNSW
# graphs and the force-merge at the end makes one segment anyway.
LOADING_SETTINGS = {
    "refresh_interval": "-1",
    "translog.durability": "async",
    "translog.flush_threshold_size": "2gb",
    "merge.policy.segments_per_tier": 100,
    "merge.policy.max_merge_at_once": 100,
}
SERVING_SETTINGS = {
    "refresh_interval": "1s",
    "translog.durability": None,
    "translog.flush_threshold_size": None,
    "merge.policy.segments_per_tier": None,
    "merge.policy.max_merge_at_once": None,
}


async def load_chunks(
    client: AsyncOpenSearch, index: str, size: int, seed: int, first: int = 0
) -> None:
    """Bulk-index synthetic chunks ``first`` .. ``size``, ``IN_FLIGHT`` requests at a time,
    building the next body while OpenSearch indexes the previous ones.

    Each batch has its own random generator, so a build cut off (an OpenSearch restart) resumes
    where it stopped with the very chunks it would have written.
    """
    corpus = Corpus.make(np.random.default_rng(seed))
    started = time.perf_counter()
    pending: set[asyncio.Task[Any]] = set()

    async def send(body: bytes) -> None:
        response = await client.bulk(index=index, body=body, request_timeout=1800)
        if response["errors"]:
            failed = next(i for i in response["items"] if i["index"].get("error"))
            raise RuntimeError(f"bulk indexing failed: {failed}")

    for start in range(first, size, BATCH):
        rng = np.random.default_rng((seed, start))
        body = await asyncio.to_thread(bulk_lines, start, min(BATCH, size - start), corpus, rng)
        if len(pending) >= IN_FLIGHT:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        pending.add(asyncio.create_task(send(body)))
        sent = min(start + BATCH, size)
        if sent % (BATCH * 20) == 0:
            rate = (sent - first) / (time.perf_counter() - started)
            print(f"  sent {sent:>9,} / {size:,} ({rate:,.0f} chunks/s)", flush=True)
    for task in asyncio.as_completed(pending):
        await task


async def force_merge(client: AsyncOpenSearch, index: str) -> None:
    """Merge ``index`` into one segment, its HNSW graph built by as many threads as the node has
    processors (the k-NN plugin's ``index_thread_qty``, 1 by default, set only meanwhile).

    One segment is one HNSW graph per query instead of one per segment: the steady state of an
    index that is not being written to.
    """
    nodes = await client.nodes.info(metric="os", filter_path="nodes.*.os.allocated_processors")
    threads = min(node["os"]["allocated_processors"] for node in nodes["nodes"].values())
    setting = "knn.algo_param.index_thread_qty"
    await client.cluster.put_settings(body={"transient": {setting: threads}})
    try:
        await client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=14400)
    finally:
        await client.cluster.put_settings(body={"transient": {setting: None}})


async def resume_point(client: AsyncOpenSearch, spec: ChunkIndexSpec, size: int) -> int:
    """The first chunk to index: past what an unfinished build of ``spec`` holds (less the
    batches that may have been in flight when it stopped; none when all chunks are there, since
    rewriting some would leave deletions that make the force-merge rebuild the whole HNSW graph),
    or 0 after deleting what is there."""
    if not await client.indices.exists(index=spec.index):
        return 0
    await client.indices.refresh(index=spec.index, request_timeout=3600)
    count = (await client.count(index=spec.index))["count"]
    settings = await client.indices.get_settings(index=spec.index, name="index.refresh_interval")
    loading = settings[spec.index]["settings"]["index"]["refresh_interval"] == "-1"
    if loading and count <= size:
        first = size if count == size else max(0, (count // BATCH - IN_FLIGHT) * BATCH)
        print(f"  resuming an unfinished build at chunk {first:,}", flush=True)
        return first
    await client.indices.delete(index=spec.index)
    return 0


async def synthetic_index(client: AsyncOpenSearch, size: int, seed: int) -> BuiltIndex:
    """The synthetic index of ``size`` chunks, built unless ``.local/bench`` says it exists."""
    spec = ChunkIndexSpec(alias=f"bench-chunks-{size}", version=RetrieverSettings().index_version)
    marker = CACHE / f"retrieval-{spec.index}.json"
    if await asyncio.to_thread(marker.exists) and await client.indices.exists(index=spec.alias):
        count = (await client.count(index=spec.alias))["count"]
        if count == size:
            built = json.loads(await asyncio.to_thread(marker.read_text))
            indexed = built.get("indexed", size)
            return BuiltIndex(
                spec.alias, size, built["index_s"], built["merge_s"], reused=True, indexed=indexed
            )
    first = await resume_point(client, spec, size)
    await ensure_chunk_index(client, spec)
    await client.indices.put_settings(index=spec.index, body={"index": LOADING_SETTINGS})
    started = time.perf_counter()
    await load_chunks(client, spec.index, size, seed, first)
    await client.indices.refresh(index=spec.index, request_timeout=3600)
    index_s = time.perf_counter() - started
    rate = (size - first) / index_s
    print(f"  indexed {size - first:,} in {index_s:.0f} s ({rate:,.0f} chunks/s)", flush=True)
    merge_started = time.perf_counter()
    await force_merge(client, spec.index)
    merge_s = time.perf_counter() - merge_started
    print(f"  force-merged to one segment in {merge_s:.0f} s", flush=True)
    await client.indices.put_settings(index=spec.index, body={"index": SERVING_SETTINGS})
    await asyncio.to_thread(record_build, marker, size, index_s, merge_s, size - first)
    return BuiltIndex(spec.alias, size, index_s, merge_s, reused=False, indexed=size - first)


@dataclass
class Timings:
    """Latencies of one mode in milliseconds."""

    ours: list[float]
    inner: list[float]
    """Time the OpenSearch requests of each of ours were under way, timed by the service's own
    client."""
    raw: list[float]
    took: list[float]
    encode: list[float]


@dataclass(frozen=True)
class TimedRequest:
    """One ``_msearch`` the measured service made: its body and when it ran."""

    body: Any
    started: float
    ended: float


class TimedOpenSearch(AsyncOpenSearch):
    """The measured service's client: it notes each ``_msearch`` body and when the request ran end
    to end (body serialised, sent, answer parsed), so a query's own overhead is its gRPC time
    less the time OpenSearch requests were under way, and the very same requests can be replayed
    raw."""

    def __init__(self, url: str, timeout_s: float) -> None:
        super().__init__(hosts=[url], timeout=timeout_s)
        self.requests: list[TimedRequest] = []

    async def msearch(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`AsyncOpenSearch.msearch`, timed."""
        started = time.perf_counter()
        try:
            return await super().msearch(*args, **kwargs)
        finally:
            self.requests.append(TimedRequest(kwargs["body"], started, time.perf_counter()))


def rounds(requests: Sequence[TimedRequest]) -> list[list[TimedRequest]]:
    """``requests`` grouped into rounds of requests that were under way together."""
    grouped: list[list[TimedRequest]] = []
    end = float("-inf")
    for request in sorted(requests, key=lambda r: r.started):
        if request.started < end:
            grouped[-1].append(request)
        else:
            grouped.append([request])
        end = max(end, request.ended)
    return grouped


def busy_ms(requests: Sequence[TimedRequest]) -> float:
    """Milliseconds during which at least one of ``requests`` was under way."""
    return sum(
        (max(r.ended for r in group) - min(r.started for r in group)) * 1000
        for group in rounds(requests)
    )


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
    models: QueryModels,
    client: TimedOpenSearch,
    warmup: int,
) -> Timings:
    """Ours and raw for each ``(kb id, query)``, back to back so both see the same conditions."""
    timings = Timings([], [], [], [], [])
    for n, (kb_id, query) in enumerate(queries):
        request = retriever_pb2.SearchRequest(query=query, kb_ids=[kb_id], k=10, mode=MODES[mode])
        client.requests.clear()
        started = time.perf_counter()
        await stub.Search(request, timeout=30)
        ours_ms = since_ms(started)
        inner_ms = busy_ms(client.requests)
        raw_ms = took_ms = 0.0
        for group in rounds(client.requests):
            started = time.perf_counter()
            responses = await asyncio.gather(
                *(AsyncOpenSearch.msearch(client, body=r.body) for r in group)
            )
            raw_ms += since_ms(started)
            took_ms += max(float(response["took"]) for response in responses)
        started = time.perf_counter()
        await models.embed(query)
        encode_ms = since_ms(started)
        if n < warmup:
            continue
        timings.ours.append(ours_ms)
        timings.inner.append(inner_ms)
        timings.raw.append(raw_ms)
        timings.took.append(took_ms)
        if mode is not SearchMode.BM25:
            timings.encode.append(encode_ms)
    return timings


def triple(values: Sequence[float]) -> str:
    """p50/p95/p99 of ``values``."""
    return "/".join(f"{percentile(values, q):.1f}" for q in (50, 95, 99))


def own_overheads(t: Timings) -> list[float]:
    """Ours minus the OpenSearch request it made: what the service adds, query by query."""
    return [o - i for o, i in zip(t.ours, t.inner, strict=True)]


def paired_overheads(t: Timings) -> list[float]:
    """Ours minus raw, query by query (the two ran back to back; OpenSearch's variance between
    two requests is in it)."""
    return [o - r for o, r in zip(t.ours, t.raw, strict=True)]


def table(title: str, results: dict[SearchMode, Timings]) -> None:
    """Print one index's table (milliseconds; overheads are per-query differences)."""
    print(f"\n{title}")
    print(
        f"{'mode':<8}{'n':>5}  {'ours p50/p95/p99':>20}  {'raw p50/p95/p99':>20}"
        f"  {'overhead p50/p95/p99':>21}  {'encode p50/p95/p99':>20}"
        f"  {'overhead-encode p95':>19}  {'ours-raw p95':>12}  {'took p95':>8}"
    )
    for mode, t in results.items():
        own = own_overheads(t)
        encode = triple(t.encode) if t.encode else "-"
        without = (
            percentile([o - e for o, e in zip(own, t.encode, strict=True)], 95)
            if t.encode
            else percentile(own, 95)
        )
        print(
            f"{mode.value:<8}{len(t.ours):>5}  {triple(t.ours):>20}  {triple(t.raw):>20}"
            f"  {triple(own):>21}  {encode:>20}  {without:>19.1f}"
            f"  {percentile(paired_overheads(t), 95):>12.1f}  {percentile(t.took, 95):>8.1f}"
        )


async def measure_index(
    alias: str, queries: Sequence[tuple[str, str]], models: QueryModels, warmup: int
) -> dict[SearchMode, Timings]:
    """Every mode over ``alias`` through a gRPC server of our own on a free port."""
    settings = RetrieverSettings(index_alias=alias)
    client = TimedOpenSearch(OpenSearchSettings().url, timeout_s=60)
    searcher = create_searcher(settings, client, models)
    service = RetrieverService(searcher, alias, 1, SearchMetrics(CollectorRegistry()))
    server = await start_grpc_server("127.0.0.1", 0, [register(service)], [SERVICE_NAME])
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    stub = retriever_pb2_grpc.RetrieverServiceStub(channel)
    try:
        return {
            mode: await measure_mode(mode, queries, stub, models, client, warmup) for mode in MODES
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
        f"  {state} indexing {built.indexed:,} chunks in {built.index_s:.0f} s = "
        f"{built.indexed / built.index_s:,.0f} chunks/s, "
        f"force-merge {built.merge_s:.0f} s)"
    )
    settings = RetrieverSettings()
    # The service's own model settings (device, encoder threads).
    models = QueryModels(
        settings.query_model_path,
        None,
        settings.device,
        settings.encoder_threads,
        settings.model_cache_dir,
    )
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
    overhead = percentile(own_overheads(hybrid), 95)
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
