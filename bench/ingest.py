"""Ingestion throughput on Debian's python3-doc (a benchmark, not a test): ``make bench-ingest``.

Runs the real services as processes on names of their own (:mod:`tests.harness.pipeline`)
against the running Kafka, OpenSearch, PostgreSQL and Redis, with the site served by
``python3 -m http.server`` on 127.0.0.1, and prints one table:

- crawl pages/s, the scraper alone: a recursive crawl from index.html, up to ``--pages`` pages
  (all of the site with ``--full``), from submission to the crawl's final progress event; with
  the CPU time per page of the scraper (its parser processes included) and of the site's server,
  which, unlike the rate, does not depend on what else the machine is running
  (``--crawl-only`` stops there; ``--static`` renders no page: python3-doc's genindex.html and
  search.html look script-driven, and on a busy machine their rendering sets the crawl's end);
- chunks/s embedded: chunks published by the embedder over the time from the first
  ``page.parsed`` message to the last ``chunk.embedded`` message;
- chunks/s indexed: chunks in the index over the time from the first ``chunk.embedded`` message
  until the retriever had consumed everything (and, as capacity, over the retriever's own time
  spent in bulk requests);
- end-to-end pages/min from submission until the last chunk was indexed (by default on the
  37 linked pages of tutorial/, distutils/, using/, installing/, distributing/ and install/,
  about 1,100 chunks: a few minutes on 2 cores; ``--full`` takes the whole site, about 23,000
  chunks, about 10 minutes on 2 CPU cores);
- raw sentence-transformers encode throughput in this one process on the same chunks (the same
  passages the embedder encoded, same batch size), measured after the services stopped: the
  machine's ceiling;
- peak RSS of each service process (``VmHWM`` from /proc, sampled while they run; Chromium's
  own processes are not included in the scraper's).

The last line is ``BENCH ingest e2e_pages_per_min=<n> ceiling_ratio=<r> crawl_pages_per_s=<n>``,
where ceiling_ratio is the end-to-end chunks/s divided by the raw encode chunks/s.

    .venv/bin/python -m bench.ingest [--pages 500] [--full] [--batch-pages N]
    .venv/bin/python -m bench.ingest --crawl-only [--static] [--pages N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from ragchat_common.events import CrawlMode, CrawlScope, UrlSubmitted
from ragchat_common.settings import (
    KafkaSettings,
    OpenSearchSettings,
    PostgresSettings,
    RedisSettings,
)

from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_pipeline
from tests.harness.sites import StaticDirectorySite, python3_doc_root

os.environ["HF_HUB_OFFLINE"] = "1"

SUBSET_FOLDERS = ("tutorial", "distutils", "using", "installing", "distributing", "install")
WITHIN_S = 4 * 3600.0  # an upper bound for the full site on a small machine


@dataclass
class E2eRun:
    """What one end-to-end run measured."""

    pages: int
    chunks: int
    seconds: float
    embed_chunks_per_s: float
    index_chunks_per_s: float
    index_capacity_chunks_per_s: float
    crawl_pages_per_s: float
    # Seconds from submission to the first page.parsed message, and from the last
    # chunk.embedded message until everything was indexed and committed.
    start_s: float
    tail_s: float
    passages: list[str]
    peak_rss_mb: dict[str, float]


def whole_site(docs: StaticDirectorySite, max_pages: int) -> tuple[list[str], CrawlScope]:
    return [docs.url("/index.html")], CrawlScope(max_depth=20, max_pages=max_pages)


def subset(docs: StaticDirectorySite) -> tuple[list[str], CrawlScope]:
    seeds = [docs.url(f"/{folder}/index.html") for folder in SUBSET_FOLDERS]
    return seeds, CrawlScope(max_depth=3, max_pages=60)


def request(seeds: list[str], scope: CrawlScope) -> UrlSubmitted:
    kb_id = uuid4()
    return UrlSubmitted(
        crawl_id=uuid4(),
        kb_id=kb_id,
        tenant_id=kb_id,
        urls=seeds,
        mode=CrawlMode.RECURSIVE,
        scope=scope,
        submitted_by="bench",
    )


def peak_rss_mb(pipeline: IngestionPipeline) -> dict[str, float]:
    pipeline.sample_rss()
    return {name: s.peak_rss_kb / 1024 for name, s in pipeline.services.items()}


BROWSER_COMMANDS = ("chrom", "node", "headless_shell")


def own_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of one process alone, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 1 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user and system) of a process and its live descendants, from /proc: the Python
    processes, and the browser's (Chromium and Playwright's driver, for pages rendered)."""
    parents: dict[int, int] = {}
    times: dict[int, tuple[bool, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 1 :].split()
        parents[int(entry.name)] = int(fields[1])
        browser = command.lower().startswith(BROWSER_COMMANDS)
        times[int(entry.name)] = (browser, (int(fields[11]) + int(fields[12])) / tick)
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    found = [times[member] for member in tree if member in times]
    return (
        sum(cpu for browser, cpu in found if not browser),
        sum(cpu for browser, cpu in found if browser),
    )


@dataclass
class CrawlRun:
    """What the scraper-alone crawl measured."""

    pages: int
    seconds: float
    scraper_cpu_s: float
    loop_cpu_s: float
    browser_cpu_s: float
    site_cpu_s: float
    peak_rss_mb: dict[str, float]


async def crawl_alone(
    infra: Infrastructure,
    docs: StaticDirectorySite,
    workdir: Path,
    max_pages: int,
    static: bool = False,
) -> CrawlRun:
    """Pages fetched and seconds from submission to the end, with only the scraper running, and
    the CPU time the scraper (its parser processes included) and the site's server spent."""
    assert docs.process is not None
    scraper_env = {"SCRAPER_RENDER_JS_AUTO": "false"} if static else {}
    async with running_pipeline(
        infra, uuid4().hex[:10], workdir, scraper_env=scraper_env, only=("scraper",)
    ) as scraper:
        event = request(*whole_site(docs, max_pages))
        scraper_pid = scraper.services["scraper"].pid
        scraper_cpu, site_cpu = cpu_seconds(scraper_pid), cpu_seconds(docs.process.pid)
        loop_cpu = own_cpu_seconds(scraper_pid)
        started = time.monotonic()
        await scraper.submit(event)
        progress = await scraper.crawl_end(event.crawl_id, WITHIN_S)
        seconds = time.monotonic() - started
        scraper_now = cpu_seconds(scraper_pid)
        return CrawlRun(
            progress.fetched,
            seconds,
            scraper_now[0] - scraper_cpu[0],
            own_cpu_seconds(scraper_pid) - loop_cpu,
            scraper_now[1] - scraper_cpu[1],
            cpu_seconds(docs.process.pid)[0] - site_cpu[0],
            peak_rss_mb(scraper),
        )


async def retriever_busy_s(pipeline: IngestionPipeline) -> float:
    """Seconds the retriever spent in bulk indexing, from its Prometheus metrics."""
    port = pipeline.services["retriever"].http_port
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    found = re.search(r"^ragchat_index_batch_duration_seconds_sum\S* (\S+)$", text, re.M)
    return float(found.group(1)) if found else float("nan")


def passage(chunk: dict[str, Any]) -> str:
    """What the embedder encoded for an indexed chunk (context line, then text)."""
    from ragchat_embedder.domain.chunking import context_line, passage_for

    if chunk.get("image"):
        return passage_for(chunk["title"].strip(), chunk["text"])
    return passage_for(context_line(chunk["title"], chunk["heading_path"]), chunk["text"])


async def end_to_end(
    infra: Infrastructure,
    docs: StaticDirectorySite,
    workdir: Path,
    full: bool,
    embedder_env: dict[str, str],
) -> E2eRun:
    async with running_pipeline(
        infra, uuid4().hex[:10], workdir, embedder_env=embedder_env
    ) as pipeline:
        event = request(*(whole_site(docs, 5000) if full else subset(docs)))
        started_wall, started = time.time(), time.monotonic()
        await pipeline.submit(event)
        progress = await pipeline.crawl_end(event.crawl_id, WITHIN_S)
        crawl_s = time.monotonic() - started
        await pipeline.settle(WITHIN_S)
        settled_wall = time.time()
        chunks = await pipeline.indexed_chunks(event.kb_id)
        pages_span = await pipeline.time_span(pipeline.names.pages)
        chunks_span = await pipeline.time_span(pipeline.names.chunks)
        assert pages_span is not None and chunks_span is not None, "nothing was embedded"
        busy_s = await retriever_busy_s(pipeline)
        return E2eRun(
            pages=progress.fetched,
            chunks=len(chunks),
            seconds=settled_wall - started_wall,
            embed_chunks_per_s=len(chunks) / (chunks_span[1] - pages_span[0]),
            index_chunks_per_s=len(chunks) / (settled_wall - chunks_span[0]),
            index_capacity_chunks_per_s=len(chunks) / busy_s,
            crawl_pages_per_s=progress.fetched / crawl_s,
            start_s=pages_span[0] - started_wall,
            tail_s=settled_wall - chunks_span[1],
            passages=[passage(c) for c in chunks],
            peak_rss_mb=peak_rss_mb(pipeline),
        )


def crawl_rows(crawl: CrawlRun) -> list[tuple[str, str]]:
    """Rows of the scraper-alone crawl: its rate, and CPU per page (which a busy machine
    inflates far less than the rate: compare runs by it)."""
    per_page_ms = 1000 / max(crawl.pages, 1)
    return [
        (
            f"crawl, scraper alone ({crawl.pages} pages from index.html)",
            f"{crawl.pages / crawl.seconds:.1f} pages/s",
        ),
        (
            "  CPU/page: scraper (its event loop + parsers), browser (JS pages), site",
            f"{crawl.scraper_cpu_s * per_page_ms:.1f} ({crawl.loop_cpu_s * per_page_ms:.1f} +"
            f" {(crawl.scraper_cpu_s - crawl.loop_cpu_s) * per_page_ms:.1f}),"
            f" {crawl.browser_cpu_s * per_page_ms:.1f}, {crawl.site_cpu_s * per_page_ms:.1f} ms",
        ),
    ]


def raw_encode_chunks_per_s(passages: list[str]) -> float:
    """sentence-transformers in this process, the embedder's model and batch size."""
    from ragchat_embedder.encoders.text import TextEncoder
    from ragchat_embedder.settings import EmbedderSettings

    settings = EmbedderSettings()
    encoder = TextEncoder.load(device=settings.device, batch_size=settings.encode_batch_size)
    encoder.encode(passages[: settings.encode_batch_size])  # warm-up
    started = time.perf_counter()
    encoder.encode(passages)
    return len(passages) / (time.perf_counter() - started)


async def bench(args: argparse.Namespace) -> None:
    infra = Infrastructure(
        KafkaSettings(), OpenSearchSettings(), PostgresSettings(), RedisSettings()
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    docs = StaticDirectorySite(python3_doc_root(), workdir / "http.log")
    await docs.start()
    try:
        max_pages = 5000 if args.full else args.pages
        crawl = await crawl_alone(infra, docs, workdir, max_pages, args.static)
        crawled, crawl_s, scraper_rss = crawl.pages, crawl.seconds, crawl.peak_rss_mb
        if args.crawl_only:
            rendering = "no JS rendering" if args.static else "JS rendering when script-driven"
            print(f"python3-doc; crawl only, {rendering}; {os.cpu_count()} CPUs; logs in {workdir}")
            for name, value in crawl_rows(crawl):
                print(f"{name:<56} {value:>34}")
            print(f"BENCH ingest-crawl crawl_pages_per_s={crawled / crawl_s:.1f}")
            return
        embedder_env = (
            {"EMBEDDER_BATCH_MAX_PAGES": str(args.batch_pages)} if args.batch_pages else {}
        )
        run = await end_to_end(infra, docs, workdir, args.full, embedder_env)
    finally:
        await docs.stop()
    raw = raw_encode_chunks_per_s(run.passages)
    e2e_chunks_per_s = run.chunks / run.seconds
    crawl_rate = crawled / crawl_s
    e2e_scope = "whole site" if args.full else f"subset {','.join(SUBSET_FOLDERS)}"
    rows = [
        *crawl_rows(crawl),
        (f"crawl, inside the e2e run ({run.pages} pages)", f"{run.crawl_pages_per_s:.1f} pages/s"),
        (f"embedded ({run.chunks} chunks)", f"{run.embed_chunks_per_s:.1f} chunks/s"),
        ("indexed, as the pipeline delivered", f"{run.index_chunks_per_s:.1f} chunks/s"),
        ("indexed, retriever bulk capacity", f"{run.index_capacity_chunks_per_s:.0f} chunks/s"),
        (
            f"end to end, submission to indexed ({run.seconds:.0f} s)",
            f"{run.pages / run.seconds * 60:.1f} pages/min = {e2e_chunks_per_s:.1f} chunks/s",
        ),
        ("  of which: submission to the first page parsed", f"{run.start_s:.1f} s"),
        ("  of which: last chunk embedded to all indexed", f"{run.tail_s:.1f} s"),
        ("raw sentence-transformers encode, same chunks", f"{raw:.1f} chunks/s"),
        ("peak RSS scraper (crawl alone)", f"{scraper_rss['scraper']:.0f} MB"),
        *((f"peak RSS {name} (e2e)", f"{mb:.0f} MB") for name, mb in run.peak_rss_mb.items()),
    ]
    batching = f"embedder batch_max_pages={args.batch_pages or 'default'}"
    print(
        f"python3-doc; e2e run: {e2e_scope}; {batching}; {os.cpu_count()} CPUs; logs in {workdir}"
    )
    print(f"{'measure':<56} {'value':>34}")
    for name, value in rows:
        print(f"{name:<56} {value:>34}")
    print(
        f"BENCH ingest e2e_pages_per_min={run.pages / run.seconds * 60:.1f}"
        f" ceiling_ratio={e2e_chunks_per_s / raw:.2f} crawl_pages_per_s={crawl_rate:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 500 pages (of about 530): a crawl starts from one page and fetches at full concurrency only
    # once the first pages' links are parsed; 150 pages spent about 0.4 s of their 2.5 s there.
    parser.add_argument("--pages", type=int, default=500, help="pages of the scraper-alone crawl")
    parser.add_argument("--full", action="store_true", help="the whole site, for both runs")
    parser.add_argument(
        "--batch-pages", type=int, default=0, help="EMBEDDER_BATCH_MAX_PAGES for the e2e run"
    )
    parser.add_argument(
        "--crawl-only", action="store_true", help="only the scraper-alone crawl (no e2e run)"
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="crawl alone without rendering the pages that look script-driven (static pages only)",
    )
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
