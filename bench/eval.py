"""Answer quality on Debian's python3-doc (an evaluation, not a test): ``make eval``.

The question set is ``bench/data/python3_doc_eval.jsonl``: one conversation per line, each turn
with its relevant pages and, per page, a phrase the page holds (checked against the HTML before
anything runs, so a relevant page really contains the answer). Kinds: ``answerable`` (one turn),
``followup`` (a second turn that only makes sense after the first; it also carries the standalone
question a reader would write, which the retrieval rows use) and ``unanswerable`` (nothing in the
docs answers it: the right reply is a decline).

What runs, all real processes on names of their own (:mod:`tests.harness.pipeline`):

1. the index: the pages the questions need plus distractor pages, crawled as a URL list from
   ``python3 -m http.server``, embedded and indexed by scraper, embedder and retriever; then
   copied into an index of its own (``eval-python3-doc-<digest of the page list>``) that later
   runs reuse (``.local/bench/`` remembers it; ``--rebuild`` builds it again);
2. retrieval: a retriever process on that index; every answerable turn through
   ``RetrieverService.Search`` in each mode. Recall@5: share of the relevant pages among the
   pages of the first 5 hits; MRR@10: reciprocal rank of the first hit on a relevant page;
3. decline calibration: the top hybrid score of answerable and unanswerable turns; the threshold
   that best separates them (balanced accuracy) becomes ``CHAT_DECLINE_MIN_SCORE``;
4. answers: a chat process per provider (extractive, local, and openai when
   ``CHAT_OPENAI_BASE_URL`` is set) answering every conversation through
   ``ChatService.Converse``, turn after turn in one conversation, one conversation at a time.
   Decline accuracy: unanswerable turns declined; answered: answerable turns not declined;
   citation precision: cited pages that are relevant, over the answered (not declined) turns;
   latency: first token and total as the client saw them.

The last line is ``EVAL recall5=<r> mrr10=<r> decline=<r> citation_precision=<r>``: hybrid
retrieval, and the answer metrics of the best provider (highest mean of decline accuracy,
answered share and citation precision).

    .venv/bin/python -m bench.eval [--providers extractive,local] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import itertools
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID, uuid4, uuid5

import grpc
import httpx
from ragchat.v1 import chat_pb2, chat_pb2_grpc, principal_pb2, retriever_pb2, retriever_pb2_grpc
from ragchat_common.events import CrawlMode, CrawlScope, UrlSubmitted
from ragchat_common.settings import (
    KafkaSettings,
    OpenSearchSettings,
    PostgresSettings,
    RedisSettings,
)

from tests.harness.pipeline import (
    Infrastructure,
    IngestionPipeline,
    running_pipeline,
    running_stack,
)
from tests.harness.sites import StaticDirectorySite, python3_doc_root

os.environ["HF_HUB_OFFLINE"] = "1"

QUESTIONS = Path(__file__).parent / "data" / "python3_doc_eval.jsonl"
CACHE = Path(".local/bench")
# Pages no question needs, on neighbouring subjects, so retrieval has wrong pages to choose.
DISTRACTORS = (
    "tutorial/index.html",
    "tutorial/appetite.html",
    "tutorial/introduction.html",
    "tutorial/interactive.html",
    "tutorial/whatnow.html",
    "faq/general.html",
    "faq/installed.html",
    "faq/windows.html",
    "howto/annotations.html",
    "howto/unicode.html",
    "library/zlib.html",
)
NAMESPACE = uuid5(UUID(int=0), "ragchat-eval-python3-doc")
KB_ID = str(uuid5(NAMESPACE, "kb"))
TENANT_ID = str(uuid5(NAMESPACE, "tenant"))
MODES: dict[str, retriever_pb2.SearchMode] = {
    "bm25": retriever_pb2.SEARCH_MODE_BM25,
    "vector": retriever_pb2.SEARCH_MODE_VECTOR,
    "hybrid": retriever_pb2.SEARCH_MODE_HYBRID,
}
BUILD_WITHIN_S = 1800.0
TURN_TIMEOUT_S = 300.0


# -- the question set ------------------------------------------------------------------------


@dataclass(frozen=True)
class Relevant:
    """A page that answers a turn, and a phrase of it that shows so."""

    page: str
    evidence: str


@dataclass(frozen=True)
class EvalTurn:
    """One user message and the pages that answer it (none for an unanswerable one)."""

    question: str
    standalone: str
    relevant: tuple[Relevant, ...]

    @property
    def pages(self) -> frozenset[str]:
        return frozenset(r.page for r in self.relevant)


@dataclass(frozen=True)
class EvalConversation:
    """Turns asked one after the other in one conversation."""

    id: str
    kind: str
    turns: tuple[EvalTurn, ...]


def load_conversations(path: Path) -> list[EvalConversation]:
    """The question set, one conversation per JSON line."""
    conversations = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        turns = tuple(
            EvalTurn(
                t["question"],
                t.get("standalone", t["question"]),
                tuple(Relevant(r["page"], r["evidence"]) for r in t["relevant"]),
            )
            for t in raw["turns"]
        )
        conversations.append(EvalConversation(raw["id"], raw["kind"], turns))
    return conversations


def folded_text(page: Path) -> str:
    """A page's visible text, lower-cased, with all whitespace removed (the HTML splits code
    into spans, so spacing differs from what a reader copies)."""
    markup = re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", page.read_text(errors="replace"))
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", " ", markup))).lower()


def evidence_problems(conversations: Iterable[EvalConversation], root: Path) -> list[str]:
    """Every relevant page that is missing or does not hold its evidence phrase."""
    problems = []
    texts: dict[str, str] = {}
    for conversation in conversations:
        for turn in conversation.turns:
            for relevant in turn.relevant:
                page = root / relevant.page
                if not page.exists():
                    problems.append(f"{conversation.id}: {relevant.page} does not exist")
                    continue
                text = texts.setdefault(relevant.page, folded_text(page))
                if re.sub(r"\s+", "", relevant.evidence).lower() not in text:
                    problems.append(
                        f"{conversation.id}: {relevant.page} lacks {relevant.evidence!r}"
                    )
    return problems


def corpus_pages(conversations: Iterable[EvalConversation]) -> list[str]:
    """The relevant pages of every turn plus the distractors, sorted."""
    pages = {r.page for c in conversations for t in c.turns for r in t.relevant}
    return sorted(pages | set(DISTRACTORS))


def page_of(url: str) -> str:
    """The site-relative path of a hit's URL (the served port changes from run to run)."""
    return urlsplit(url).path.lstrip("/")


# -- the index -------------------------------------------------------------------------------


def infrastructure() -> Infrastructure:
    """The running servers, as the environment names them."""
    return Infrastructure(
        KafkaSettings(), OpenSearchSettings(), PostgresSettings(), RedisSettings()
    )


def index_alias(pages: Sequence[str]) -> str:
    """The eval index's alias: a new page list (or question set) gets a new index."""
    digest = hashlib.sha256("\n".join(pages).encode()).hexdigest()[:10]
    return f"eval-python3-doc-{digest}"


async def indexed_chunks(opensearch: OpenSearchSettings, alias: str) -> int:
    """Chunks of the eval knowledge base in ``alias`` (0 when it does not exist)."""
    async with httpx.AsyncClient(base_url=opensearch.url, timeout=30) as client:
        reply = await client.post(f"/{alias}/_count", json={"query": {"term": {"kb_id": KB_ID}}})
    return int(reply.json()["count"]) if reply.status_code == 200 else 0


async def copy_index(opensearch: OpenSearchSettings, source: str, alias: str) -> None:
    """Copy the pipeline's index into the eval index (same mapping), which outlives the run."""
    from ragchat_retriever.store import create_opensearch
    from ragchat_retriever.store.index import ChunkIndexSpec, ensure_chunk_index

    client = create_opensearch(opensearch, timeout_s=600)
    spec = ChunkIndexSpec(alias=alias, version=1)
    try:
        if await client.indices.exists(index=spec.index):
            await client.indices.delete(index=spec.index)
        await ensure_chunk_index(client, spec)
        await client.reindex(
            body={"source": {"index": source}, "dest": {"index": spec.index}},
            request_timeout=600,
            refresh=True,
        )
    finally:
        await client.close()


async def build_index(infra: Infrastructure, pages: Sequence[str], alias: str) -> float:
    """Crawl, embed and index ``pages`` into ``alias``; seconds it took."""
    workdir = Path(tempfile.mkdtemp(prefix="eval-index-"))
    docs = StaticDirectorySite(python3_doc_root(), workdir / "http.log")
    await docs.start()
    started = time.monotonic()
    try:
        async with running_pipeline(infra, uuid4().hex[:10], workdir) as pipeline:
            event = UrlSubmitted(
                crawl_id=uuid4(),
                kb_id=UUID(KB_ID),
                tenant_id=UUID(TENANT_ID),
                urls=[docs.url(f"/{page}") for page in pages],
                mode=CrawlMode.LIST,
                scope=CrawlScope(max_depth=0, max_pages=len(pages)),
                submitted_by="eval",
            )
            await pipeline.submit(event)
            progress = await pipeline.crawl_end(event.crawl_id, BUILD_WITHIN_S)
            print(f"  crawled {progress.fetched} pages ({progress.failed} failed)", flush=True)
            await pipeline.settle(BUILD_WITHIN_S)
            await copy_index(infra.opensearch, pipeline.names.index_alias, alias)
    finally:
        await docs.stop()
    return time.monotonic() - started


def _recorded_chunks(marker: Path) -> int | None:
    """The chunk count an earlier build recorded, if any."""
    return int(json.loads(marker.read_text())["chunks"]) if marker.exists() else None


async def eval_index(infra: Infrastructure, pages: Sequence[str], rebuild: bool) -> str:
    """The eval index's alias, built unless an earlier run left it complete."""
    alias = index_alias(pages)
    marker = CACHE / f"{alias}.json"
    chunks = await indexed_chunks(infra.opensearch, alias)
    recorded = await asyncio.to_thread(_recorded_chunks, marker)
    if not rebuild and chunks and chunks == recorded:
        print(f"index {alias}: {chunks} chunks of {len(pages)} pages (reused)")
        return alias
    print(f"index {alias}: crawling, embedding and indexing {len(pages)} pages", flush=True)
    seconds = await build_index(infra, pages, alias)
    chunks = await indexed_chunks(infra.opensearch, alias)
    record = json.dumps({"chunks": chunks, "pages": list(pages), "build_s": seconds})
    await asyncio.to_thread(CACHE.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(marker.write_text, record)
    print(f"index {alias}: {chunks} chunks of {len(pages)} pages (built in {seconds:.0f} s)")
    return alias


# -- retrieval -------------------------------------------------------------------------------


def recall_at(ranked_pages: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Share of the relevant pages among the pages of the first ``k`` hits."""
    return len(relevant & set(ranked_pages[:k])) / len(relevant)


def reciprocal_rank(ranked_pages: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """1 / rank of the first hit on a relevant page within ``k`` hits, else 0."""
    for rank, page in enumerate(ranked_pages[:k], start=1):
        if page in relevant:
            return 1.0 / rank
    return 0.0


@dataclass
class ModeScores:
    """Retrieval quality of one search mode."""

    recall5: list[float] = field(default_factory=list)
    rr10: list[float] = field(default_factory=list)
    took_ms: list[float] = field(default_factory=list)
    by_question: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TopScore:
    """The best hybrid score of a turn, and whether the docs answer it."""

    score: float
    answerable: bool


async def search(
    stub: retriever_pb2_grpc.RetrieverServiceStub,
    query: str,
    mode: retriever_pb2.SearchMode,
    k: int,
) -> list[retriever_pb2.SearchHit]:
    """The hits of one search in the eval knowledge base."""
    request = retriever_pb2.SearchRequest(
        query=query, kb_ids=[KB_ID], tenant_id=TENANT_ID, k=k, mode=mode
    )
    return list((await stub.Search(request, timeout=30)).hits)


async def measure_retrieval(
    target: str, conversations: Sequence[EvalConversation]
) -> tuple[dict[str, ModeScores], list[TopScore]]:
    """Every answerable turn in each mode; the top hybrid score of every turn."""
    scores = {mode: ModeScores() for mode in MODES}
    tops: list[TopScore] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = retriever_pb2_grpc.RetrieverServiceStub(channel)
        await search(stub, "warm-up", MODES["hybrid"], 10)
        for conversation in conversations:
            for turn in conversation.turns:
                for mode, code in MODES.items():
                    started = time.perf_counter()
                    hits = await search(stub, turn.standalone, code, 10)
                    took = (time.perf_counter() - started) * 1000
                    if mode == "hybrid":
                        tops.append(TopScore(hits[0].score if hits else 0.0, bool(turn.relevant)))
                    if not turn.relevant:
                        continue
                    ranked = [page_of(hit.url) for hit in hits]
                    scores[mode].recall5.append(recall_at(ranked, turn.pages, 5))
                    scores[mode].by_question[turn.standalone] = scores[mode].recall5[-1]
                    scores[mode].rr10.append(reciprocal_rank(ranked, turn.pages, 10))
                    scores[mode].took_ms.append(took)
    return scores, tops


def calibrated_threshold(tops: Sequence[TopScore]) -> tuple[float, float]:
    """The decline threshold with the best balanced accuracy (decline unanswerable turns,
    answer answerable ones), and that accuracy; ties go to the lower threshold."""
    values = sorted({t.score for t in tops})
    candidates = [0.0] + [(a + b) / 2 for a, b in itertools.pairwise(values)]
    best, best_accuracy = 0.0, -1.0
    for threshold in candidates:
        declined = [t.score < threshold for t in tops if not t.answerable]
        answered = [t.score >= threshold for t in tops if t.answerable]
        accuracy = (statistics.mean(declined) + statistics.mean(answered)) / 2
        if accuracy > best_accuracy:
            best, best_accuracy = threshold, accuracy
    return best, best_accuracy


# -- answers ---------------------------------------------------------------------------------


@dataclass
class TurnResult:
    """What chat replied to one turn, and how fast."""

    answer: str
    cited_pages: list[str]
    declined: bool
    first_token_ms: float
    total_ms: float
    server_retrieval_ms: float
    # As the summary reports it: "cached:<provider>" for an answer replayed from the cache.
    provider: str


@dataclass
class ProviderScores:
    """Answer quality and latency of one provider."""

    name: str
    unanswerable_declined: list[bool] = field(default_factory=list)
    answerable_answered: list[bool] = field(default_factory=list)
    cited: int = 0
    cited_relevant: int = 0
    first_token_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    samples: list[tuple[str, str]] = field(default_factory=list)
    failed: int = 0

    @property
    def decline(self) -> float:
        return statistics.mean(self.unanswerable_declined) if self.unanswerable_declined else 0.0

    @property
    def answered(self) -> float:
        return statistics.mean(self.answerable_answered) if self.answerable_answered else 0.0

    @property
    def citation_precision(self) -> float:
        return self.cited_relevant / self.cited if self.cited else 0.0

    @property
    def grounded(self) -> float:
        """The figure providers are ranked by."""
        return (self.decline + self.answered + self.citation_precision) / 3


def principal() -> principal_pb2.Principal:
    """An owner of the eval tenant who may read the eval knowledge base."""
    return principal_pb2.Principal(
        subject=str(uuid5(NAMESPACE, "owner")),
        tenant_id=TENANT_ID,
        kind=principal_pb2.PRINCIPAL_KIND_USER,
        role="owner",
        readable_kb_ids=[KB_ID],
        label="eval",
    )


async def converse(
    stub: chat_pb2_grpc.ChatServiceStub,
    conversation_id: str,
    message: str,
    *,
    skip_cache: bool = True,
) -> tuple[TurnResult, str]:
    """One turn through ``ChatService.Converse``; the result and the conversation id. The
    answer cache is skipped (the turn is answered afresh) unless ``skip_cache`` is false."""
    request = chat_pb2.ConverseRequest(
        conversation_id=conversation_id,
        principal=principal(),
        kb_ids=[KB_ID],
        message=message,
        skip_cache=skip_cache,
    )
    started = time.perf_counter()
    first_token_ms = 0.0
    tokens: list[str] = []
    cited: list[str] = []
    summary = chat_pb2.TurnSummary()
    async for event in stub.Converse(request, timeout=TURN_TIMEOUT_S):
        kind = event.WhichOneof("event")
        if kind == "token":
            if not tokens:
                first_token_ms = (time.perf_counter() - started) * 1000
            tokens.append(event.token)
        elif kind == "citation":
            cited.append(page_of(event.citation.url))
        elif kind == "summary":
            summary = event.summary
    total_ms = (time.perf_counter() - started) * 1000
    result = TurnResult(
        "".join(tokens),
        list(dict.fromkeys(cited)),
        summary.declined,
        first_token_ms,
        total_ms,
        summary.retrieval_ms,
        summary.provider,
    )
    return result, summary.conversation_id


async def measure_answers(
    name: str, target: str, conversations: Sequence[EvalConversation]
) -> ProviderScores:
    """Every conversation, turn after turn, one conversation at a time."""
    scores = ProviderScores(name)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        await converse(stub, "", "warm-up: what is Python?")
        for conversation in conversations:
            conversation_id = ""
            for turn in conversation.turns:
                try:
                    result, conversation_id = await converse(stub, conversation_id, turn.question)
                except grpc.aio.AioRpcError as exc:
                    print(f"  {name}: {turn.question!r} failed: {exc.code().name}", flush=True)
                    scores.failed += 1
                    continue
                scores.first_token_ms.append(result.first_token_ms)
                scores.total_ms.append(result.total_ms)
                if len(scores.samples) < 3 and turn.relevant:
                    scores.samples.append((turn.question, result.answer))
                if not turn.relevant:
                    scores.unanswerable_declined.append(result.declined)
                else:
                    scores.answerable_answered.append(not result.declined)
                if not result.declined:
                    scores.cited += len(result.cited_pages)
                    scores.cited_relevant += len(set(result.cited_pages) & turn.pages)
    return scores


def percentile(values: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# -- the run ---------------------------------------------------------------------------------


def providers_to_run(requested: str) -> list[str]:
    """The providers asked for; openai only where an endpoint is configured."""
    names = [n.strip() for n in requested.split(",") if n.strip()]
    if "openai" in names and not os.environ.get("CHAT_OPENAI_BASE_URL"):
        print("openai: skipped (CHAT_OPENAI_BASE_URL is not set)")
        names.remove("openai")
    return names


async def run(args: argparse.Namespace) -> None:
    """Index, measure retrieval, calibrate, measure answers, print the tables and the EVAL line."""
    conversations = load_conversations(QUESTIONS)
    root = python3_doc_root()
    problems = evidence_problems(conversations, root)
    if problems:
        raise SystemExit("question set does not match the docs:\n" + "\n".join(problems))
    turns = [t for c in conversations for t in c.turns]
    print(
        f"question set: {len(conversations)} conversations, {len(turns)} turns "
        f"({sum(bool(t.relevant) for t in turns)} answerable, "
        f"{sum(not t.relevant for t in turns)} unanswerable, "
        f"{sum(c.kind == 'followup' for c in conversations)} follow-up pairs); evidence checked"
    )
    infra = infrastructure()
    pages = corpus_pages(conversations)
    alias = await eval_index(infra, pages, args.rebuild)
    providers = providers_to_run(args.providers)
    workdir = Path(tempfile.mkdtemp(prefix="eval-"))
    retriever_env = {"RETRIEVER_INDEX_ALIAS": alias, **search_tuning(args)}
    async with running_stack(
        infra, uuid4().hex[:10], workdir, env={"retriever": retriever_env}, only=("retriever",)
    ) as stack:
        retrieval, tops = await measure_retrieval(stack.grpc_target("retriever"), conversations)
        threshold, separation = calibrated_threshold(tops)
        answers = [
            await answers_of(
                stack, infra, name, threshold, sampled(conversations, name, args), workdir
            )
            for name in providers
        ]
    report(retrieval, tops, threshold, separation, answers, retriever_env)


def sampled(
    conversations: Sequence[EvalConversation], provider: str, args: argparse.Namespace
) -> list[EvalConversation]:
    """Every conversation, or for the local model every ``--local-sample``-th one (of each kind,
    so the mix stays the same): on a small shared CPU it writes a few tokens a second."""
    step = args.local_sample if provider == "local" else 1
    kept: list[EvalConversation] = []
    for kind in ("answerable", "followup", "unanswerable"):
        kept += [c for c in conversations if c.kind == kind][::step]
    return kept


def search_tuning(args: argparse.Namespace) -> dict[str, str]:
    """``RETRIEVER_SEARCH_*`` settings given on the command line (the service's defaults else)."""
    return dict(setting.split("=", 1) for setting in args.retriever_setting)


async def answers_of(
    stack: IngestionPipeline,
    infra: Infrastructure,
    provider: str,
    threshold: float,
    conversations: Sequence[EvalConversation],
    workdir: Path,
) -> ProviderScores:
    """One chat process with ``provider`` on the stack's retriever, through every conversation."""
    env = {
        "CHAT_PROVIDER": provider,
        "CHAT_DECLINE_MIN_SCORE": f"{threshold:.6f}",
        "CHAT_RETRIEVER_TARGET": stack.grpc_target("retriever"),
        "CHAT_LOCAL_MAX_TOKENS": "80",
    }
    async with running_stack(
        infra, uuid4().hex[:10], workdir, env={"chat": env}, only=("chat",)
    ) as chat:
        print(f"answers: {provider} ...", flush=True)
        return await measure_answers(provider, chat.grpc_target("chat"), conversations)


def report(
    retrieval: dict[str, ModeScores],
    tops: Sequence[TopScore],
    threshold: float,
    separation: float,
    answers: Sequence[ProviderScores],
    retriever_env: dict[str, str],
) -> None:
    """Print the retrieval and answer tables, then the EVAL line."""
    tuning = ", ".join(f"{k}={v}" for k, v in retriever_env.items() if k != "RETRIEVER_INDEX_ALIAS")
    print(f"\nretrieval over gRPC (RetrieverService.Search, k=10){'; ' + tuning if tuning else ''}")
    print(f"{'mode':<8}{'turns':>6}{'Recall@5':>10}{'MRR@10':>8}{'p50 ms':>8}{'p95 ms':>8}")
    for mode, s in retrieval.items():
        print(
            f"{mode:<8}{len(s.recall5):>6}{statistics.mean(s.recall5):>10.3f}"
            f"{statistics.mean(s.rr10):>8.3f}{percentile(s.took_ms, 50):>8.1f}"
            f"{percentile(s.took_ms, 95):>8.1f}"
        )
    missed = [
        q
        for q in retrieval["hybrid"].by_question
        if min(s.by_question[q] for s in retrieval.values()) < 1
    ]
    if missed:
        print("Recall@5 below 1 in some mode (bm25 / vector / hybrid):")
        for question in missed:
            marks = " / ".join(f"{s.by_question[question]:.2f}" for s in retrieval.values())
            print(f"  {marks}  {question}")
    answerable = [t.score for t in tops if t.answerable]
    unanswerable = [t.score for t in tops if not t.answerable]
    print(
        f"\ntop hybrid score: answerable median {statistics.median(answerable):.4f} "
        f"(min {min(answerable):.4f}), unanswerable median {statistics.median(unanswerable):.4f} "
        f"(max {max(unanswerable):.4f})"
    )
    print(
        f"calibrated CHAT_DECLINE_MIN_SCORE={threshold:.4f} "
        f"(balanced accuracy on retrieval alone {separation:.3f})"
    )
    if answers:
        print("\nanswers through ChatService.Converse, one conversation at a time")
        print(
            f"{'provider':<11}{'turns':>6}{'failed':>7}{'decline':>8}{'answered':>9}{'cit.prec':>9}{'cited':>6}"
            f"{'ttft p50':>9}{'ttft p95':>9}{'total p50':>10}{'total p95':>10}"
        )
        for a in answers:
            print(
                f"{a.name:<11}{len(a.total_ms):>6}{a.failed:>7}{a.decline:>8.3f}{a.answered:>9.3f}{a.citation_precision:>9.3f}"
                f"{a.cited:>6}{percentile(a.first_token_ms, 50):>9.0f}"
                f"{percentile(a.first_token_ms, 95):>9.0f}{percentile(a.total_ms, 50):>10.0f}"
                f"{percentile(a.total_ms, 95):>10.0f}"
            )
        for a in answers:
            for question, answer in a.samples:
                print(f"  [{a.name}] {question} -> {' '.join(answer.split())[:160]}")
    hybrid = retrieval["hybrid"]
    # Only a provider that answered the whole set competes (a sample of a few turns is noise).
    whole = [a for a in answers if len(a.total_ms) + a.failed == len(tops)] or list(answers)
    best = max(whole, key=lambda a: a.grounded) if whole else ProviderScores("none")
    if answers:
        print(f"best grounded answers: {best.name}")
    print(
        f"EVAL recall5={statistics.mean(hybrid.recall5):.3f}"
        f" mrr10={statistics.mean(hybrid.rr10):.3f}"
        f" decline={best.decline:.3f} citation_precision={best.citation_precision:.3f}"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--providers", default="extractive,local,openai", help="chat providers to evaluate"
    )
    parser.add_argument("--rebuild", action="store_true", help="index the pages again")
    parser.add_argument(
        "--local-sample",
        type=int,
        default=3,
        help="the local model answers every n-th conversation of each kind (1: all)",
    )
    parser.add_argument(
        "--retriever-setting",
        action="append",
        default=[],
        metavar="RETRIEVER_SEARCH_X=V",
        help="a retriever search setting for this run (repeatable)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
