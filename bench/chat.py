"""Chat latency per provider and concurrency (a benchmark, not a test): ``make bench-chat``.

A retriever process on the eval's python3-doc index (built by ``make eval``, or here when
missing: see :mod:`bench.eval`) and, per provider, a chat process on names of its own
(:mod:`tests.harness.pipeline`). For each provider and each concurrency (1, 10 and 50
conversations at once) every conversation asks answerable questions of the eval set through
``ChatService.Converse``, skipping the answer cache, and the table shows p50/p95 of:

- time to first token and total time, as the client sees them;
- pre-provider time: what the turn's summary reports as ``retrieval_ms``, the time from the
  request's arrival until the passages are in hand (history, follow-up rewrite, retrieval); the
  prompt is assembled right after, before the provider is called.

The last line is ``BENCH chat pre_provider_p95_ms=<n> local_ttft_p95_ms=<n>``: pre-provider p95
over every provider with one conversation at a time, and the local model's first-token p95 with
one conversation. Targets on this machine: 100 ms and 500 ms.

    .venv/bin/python -m bench.chat [--providers extractive,local] [--questions 12]
        [--concurrency 1,10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
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


@dataclass
class Round:
    """Turns of one provider at one concurrency."""

    provider: str
    concurrency: int
    results: list[TurnResult] = field(default_factory=list)
    seconds: float = 0.0
    unfinished: int = 0


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

    started = time.perf_counter()
    tasks = [asyncio.create_task(conversation(n)) for n in range(concurrency)]
    _, pending = await asyncio.wait(tasks, timeout=budget_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    result.seconds = time.perf_counter() - started
    result.unfinished = len(questions) - len(result.results)
    return result


def questions_for(concurrency: int, pool: Sequence[str], per_round: int) -> list[str]:
    """``max(per_round, concurrency)`` questions drawn in turn from ``pool``."""
    count = max(per_round, concurrency)
    return [pool[n % len(pool)] for n in range(count)]


async def provider_rounds(
    infra: Infrastructure,
    retriever_target: str,
    provider: str,
    pool: Sequence[str],
    per_round: int,
    budget_s: float,
    workdir: Path,
    concurrencies: Sequence[int],
) -> list[Round]:
    """A chat process with ``provider``, measured at each concurrency after one warm-up turn."""
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
        for concurrency in concurrencies:
            questions = questions_for(concurrency, pool, per_round)
            print(f"  {provider}: {concurrency} at once, {len(questions)} turns", flush=True)
            rounds.append(await one_round(stub, provider, concurrency, questions, budget_s))
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
        f"\n{'provider':<11}{'conc':>5}{'turns':>6}{'ttft p50/p95':>15}{'total p50/p95':>16}"
        f"{'pre-provider p50/p95':>22}{'turns/s':>9}{'unfinished':>11}"
    )
    for r in rounds:
        print(
            f"{r.provider:<11}{r.concurrency:>5}{len(r.results):>6}"
            f"{triple([t.first_token_ms for t in r.results]):>15}"
            f"{triple([t.total_ms for t in r.results]):>16}"
            f"{triple([t.server_retrieval_ms for t in r.results]):>22}"
            f"{len(r.results) / r.seconds:>9.1f}{r.unfinished:>11}"
        )
    single = [t.server_retrieval_ms for r in rounds if r.concurrency == 1 for t in r.results]
    local = [
        t.first_token_ms
        for r in rounds
        if r.provider == "local" and r.concurrency == 1
        for t in r.results
    ]
    local_ttft = f"{percentile(local, 95):.0f}" if local else "nan"
    pre_provider = f"{percentile(single, 95):.0f}" if single else "nan"
    print(f"BENCH chat pre_provider_p95_ms={pre_provider} local_ttft_p95_ms={local_ttft}")


async def run(args: argparse.Namespace) -> None:
    """Index (or reuse), start the retriever, measure each provider, report."""
    load_at_start = os.getloadavg()[0]
    conversations = load_conversations(QUESTIONS)
    pool = [turn.standalone for c in conversations if c.kind == "answerable" for turn in c.turns]
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
                infra,
                stack.grpc_target("retriever"),
                provider,
                pool,
                args.questions,
                args.round_budget_s,
                workdir,
                [int(c) for c in args.concurrency.split(",")],
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
        "--round-budget-s",
        type=float,
        default=60.0,
        help="turns still running this long after a round began are cancelled (unfinished)",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
