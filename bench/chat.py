"""Chat latency per provider, path and concurrency (a benchmark, not a test): ``make bench-chat``.

A retriever process on the eval's python3-doc index (built by ``make eval``, or here when
missing: see :mod:`bench.eval`) and, per provider, a chat process on names of its own
(:mod:`tests.harness.pipeline`). Every turn goes through ``ChatService.Converse``. Paths, one
row each:

- ``first``: for each concurrency (1, 10 and 50 conversations at once) every conversation asks
  answerable questions of the eval set, each the first of a conversation of its own, skipping
  the answer cache: every turn searches and asks the provider;
- ``cache-hit``: one conversation at a time, each question asked twice with the cache allowed,
  each time as a conversation's first question: the first ask fills the answer cache, the second
  (measured) is replayed from it without a search or the provider. Repeats not served from the
  cache are left out and counted;
- ``follow-up``: one conversation at a time, the eval set's follow-up pairs: the first question,
  then (measured) the second in the same conversation, which chat rewrites into a standalone
  query from the history (by the model where the provider offers it, else the heuristic) before
  it searches. Follow-ups are never cached.

The table shows p50/p95 of:

- time to first token and total time, as the client sees them;
- pre-provider time: what the turn's summary reports as ``retrieval_ms``, the time from the
  request's arrival until the passages are in hand (history, follow-up rewrite, retrieval; for a
  cache hit, until the replay starts); the prompt is assembled right after, before the provider
  is called.

Turns/s is the measured turns over the round's time; on the ``cache-hit`` and ``follow-up`` rows,
whose rounds also ask turns that are not measured, over the measured turns' own time.

The last line is ``BENCH chat pre_provider_p95_ms=<n> local_ttft_p95_ms=<n>``: pre-provider p95
over every provider on the ``first`` path with one conversation at a time, and the local model's
first-token p95 there. Targets on this machine: 100 ms and 500 ms.

    .venv/bin/python -m bench.chat [--providers extractive,local] [--questions 12]
        [--concurrency 1,10,50] [--paths first,cache-hit,follow-up]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import grpc
from ragchat.v1 import chat_pb2_grpc

from bench.eval import (
    QUESTIONS,
    TurnResult,
    converse,
    corpus_pages,
    eval_index,
    infrastructure,
    load_conversations,
    percentile,
    providers_to_run,
)
from tests.harness.pipeline import Infrastructure, running_stack

CONCURRENCY = "1,10,50"
T = TypeVar("T")
FIRST, CACHE_HIT, FOLLOW_UP = "first", "cache-hit", "follow-up"
PATHS = f"{FIRST},{CACHE_HIT},{FOLLOW_UP}"
CACHED_PREFIX = "cached:"


@dataclass
class Round:
    """Measured turns of one provider on one path at one concurrency."""

    provider: str
    concurrency: int
    path: str = FIRST
    results: list[TurnResult] = field(default_factory=list)
    seconds: float = 0.0
    unfinished: int = 0
    # Repeats of the cache-hit path that chat answered afresh instead.
    not_cached: int = 0


async def within_budget(work: Sequence[Coroutine[Any, Any, None]], budget_s: float) -> float:
    """Run ``work`` at once; what still runs after ``budget_s`` is cancelled (so a slow provider
    cannot hold the benchmark for long). The seconds it took."""
    started = time.perf_counter()
    tasks = [asyncio.create_task(w) for w in work]
    _, pending = await asyncio.wait(tasks, timeout=budget_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return time.perf_counter() - started


async def one_round(
    stub: chat_pb2_grpc.ChatServiceStub,
    provider: str,
    concurrency: int,
    questions: Sequence[str],
    budget_s: float,
) -> Round:
    """``concurrency`` conversations at once; each asks its share of ``questions`` in turn, in a
    conversation of its own (so every turn retrieves: no history, no cache). Turns still running
    after ``budget_s`` are cancelled and counted as unfinished, so a slow provider cannot hold
    the benchmark for long."""
    result = Round(provider, concurrency)

    async def conversation(offset: int) -> None:
        for question in questions[offset::concurrency]:
            turn, _ = await converse(stub, "", question)
            result.results.append(turn)

    result.seconds = await within_budget([conversation(n) for n in range(concurrency)], budget_s)
    result.unfinished = len(questions) - len(result.results)
    return result


async def cache_hit_round(
    stub: chat_pb2_grpc.ChatServiceStub,
    provider: str,
    questions: Sequence[str],
    budget_s: float,
) -> Round:
    """Each question asked twice as a new conversation's first question, the cache allowed; the
    second ask (a hit: replayed from the cache) is measured."""
    result = Round(provider, 1, CACHE_HIT)

    async def ask_twice() -> None:
        for question in questions:
            await converse(stub, "", question, skip_cache=False)
            turn, _ = await converse(stub, "", question, skip_cache=False)
            if turn.provider.startswith(CACHED_PREFIX):
                result.results.append(turn)
                result.seconds += turn.total_ms / 1000
            else:
                result.not_cached += 1

    await within_budget([ask_twice()], budget_s)
    result.unfinished = len(questions) - len(result.results) - result.not_cached
    return result


async def follow_up_round(
    stub: chat_pb2_grpc.ChatServiceStub,
    provider: str,
    pairs: Sequence[tuple[str, str]],
    budget_s: float,
) -> Round:
    """Each pair in a conversation of its own: the first question, then the follow-up that
    needs the first to make sense (measured)."""
    result = Round(provider, 1, FOLLOW_UP)

    async def conversations() -> None:
        for first, follow_up in pairs:
            _, conversation_id = await converse(stub, "", first)
            turn, _ = await converse(stub, conversation_id, follow_up)
            result.results.append(turn)
            result.seconds += turn.total_ms / 1000

    await within_budget([conversations()], budget_s)
    result.unfinished = len(pairs) - len(result.results)
    return result


def questions_for(concurrency: int, pool: Sequence[T], per_round: int) -> list[T]:
    """``max(per_round, concurrency)`` questions (or pairs) drawn in turn from ``pool``."""
    count = max(per_round, concurrency)
    return [pool[n % len(pool)] for n in range(count)]


@dataclass(frozen=True)
class Workload:
    """What every provider is asked: the question pools, how much, and which paths."""

    questions: Sequence[str]
    follow_ups: Sequence[tuple[str, str]]
    per_round: int
    budget_s: float
    concurrencies: Sequence[int]
    paths: Sequence[str]


async def provider_rounds(
    infra: Infrastructure,
    retriever_target: str,
    provider: str,
    workload: Workload,
    workdir: Path,
) -> list[Round]:
    """A chat process with ``provider``, measured on each path (and the first path at each
    concurrency) after one warm-up turn."""
    env = {
        "CHAT_PROVIDER": provider,
        "CHAT_RETRIEVER_TARGET": retriever_target,
        "CHAT_LOCAL_MAX_TOKENS": "80",
    }
    async with (
        running_stack(infra, uuid4().hex[:10], workdir, env={"chat": env}, only=("chat",)) as chat,
        grpc.aio.insecure_channel(chat.grpc_target("chat")) as channel,
    ):
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        await converse(stub, "", "warm-up: what is Python?")
        rounds = []
        if FIRST in workload.paths:
            for concurrency in workload.concurrencies:
                questions = questions_for(concurrency, workload.questions, workload.per_round)
                print(f"  {provider}: {concurrency} at once, {len(questions)} turns", flush=True)
                rounds.append(
                    await one_round(stub, provider, concurrency, questions, workload.budget_s)
                )
        if CACHE_HIT in workload.paths:
            # Distinct questions: a repeat within the round would be a hit on its first ask.
            questions = list(dict.fromkeys(workload.questions))[: workload.per_round]
            print(f"  {provider}: {len(questions)} cache hits", flush=True)
            rounds.append(await cache_hit_round(stub, provider, questions, workload.budget_s))
        if FOLLOW_UP in workload.paths:
            pairs = questions_for(1, workload.follow_ups, workload.per_round)
            print(f"  {provider}: {len(pairs)} follow-ups", flush=True)
            rounds.append(await follow_up_round(stub, provider, pairs, workload.budget_s))
        return rounds


def triple(values: Sequence[float]) -> str:
    """p50/p95 of ``values``."""
    return f"{percentile(values, 50):.0f}/{percentile(values, 95):.0f}"


def report(rounds: Sequence[Round], load: tuple[float, float]) -> None:
    """The table, then the BENCH line."""
    print(
        f"\nload average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end "
        f"({os.cpu_count()} CPUs): timings on a shared machine are as noisy as that"
    )
    print(
        f"\n{'provider':<11}{'path':<10}{'conc':>5}{'turns':>6}{'ttft p50/p95':>15}"
        f"{'total p50/p95':>16}{'pre-provider p50/p95':>22}{'turns/s':>9}{'unfinished':>11}"
    )
    for r in rounds:
        rate = f"{len(r.results) / r.seconds:.1f}" if r.seconds else "-"
        print(
            f"{r.provider:<11}{r.path:<10}{r.concurrency:>5}{len(r.results):>6}"
            f"{triple([t.first_token_ms for t in r.results]):>15}"
            f"{triple([t.total_ms for t in r.results]):>16}"
            f"{triple([t.server_retrieval_ms for t in r.results]):>22}"
            f"{rate:>9}{r.unfinished:>11}"
        )
    for r in rounds:
        if r.not_cached:
            print(f"{r.provider}: {r.not_cached} repeats were answered afresh, not from the cache")
    first = [r for r in rounds if r.path == FIRST and r.concurrency == 1]
    single = [t.server_retrieval_ms for r in first for t in r.results]
    local = [t.first_token_ms for r in first if r.provider == "local" for t in r.results]
    local_ttft = f"{percentile(local, 95):.0f}" if local else "nan"
    pre_provider = f"{percentile(single, 95):.0f}" if single else "nan"
    print(f"BENCH chat pre_provider_p95_ms={pre_provider} local_ttft_p95_ms={local_ttft}")


async def run(args: argparse.Namespace) -> None:
    """Index (or reuse), start the retriever, measure each provider, report."""
    load_at_start = os.getloadavg()[0]
    conversations = load_conversations(QUESTIONS)
    workload = Workload(
        questions=[t.standalone for c in conversations if c.kind == "answerable" for t in c.turns],
        follow_ups=[
            (c.turns[0].question, c.turns[1].question)
            for c in conversations
            if c.kind == "followup"
        ],
        per_round=args.questions,
        budget_s=args.round_budget_s,
        concurrencies=[int(c) for c in args.concurrency.split(",")],
        paths=[p.strip() for p in args.paths.split(",") if p.strip()],
    )
    unknown = set(workload.paths) - set(PATHS.split(","))
    if unknown:
        raise SystemExit(f"unknown paths: {', '.join(sorted(unknown))} (known: {PATHS})")
    infra = infrastructure()
    alias = await eval_index(infra, corpus_pages(conversations), rebuild=False)
    workdir = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    rounds: list[Round] = []
    async with running_stack(
        infra,
        uuid4().hex[:10],
        workdir,
        env={"retriever": {"RETRIEVER_INDEX_ALIAS": alias}},
        only=("retriever",),
    ) as stack:
        for provider in providers_to_run(args.providers):
            rounds += await provider_rounds(
                infra, stack.grpc_target("retriever"), provider, workload, workdir
            )
    report(rounds, (load_at_start, os.getloadavg()[0]))


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--providers", default="extractive,local,openai", help="chat providers to measure"
    )
    parser.add_argument(
        "--concurrency", default=CONCURRENCY, help="conversations at once, per round"
    )
    parser.add_argument(
        "--questions", type=int, default=12, help="turns per round (at least the concurrency)"
    )
    parser.add_argument(
        "--paths", default=PATHS, help="first questions, cache hits, follow-ups (see above)"
    )
    parser.add_argument(
        "--round-budget-s",
        type=float,
        default=60.0,
        help="turns still running this long after a round began are cancelled (unfinished)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
