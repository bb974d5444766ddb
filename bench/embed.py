"""Embedding throughput of the embedder (a benchmark, not a test).

Prints a table of chunks/s for:

- the raw ``SentenceTransformer.encode`` at batch sizes 16, 32 and 64 (``--batch-sizes``) on
  ~200-token passages (this machine's ceiling), and
- the service's batching path, ``PageEmbedder.message_groups`` (chunking, one encode per group
  of pages, event assembly; Kafka excluded), on pages made of the same text,

then one line ``BENCH embed ...`` for scripts. Text is generated from a fixed seed, so runs are
comparable. ``--raw-only --model PATH`` needs only sentence-transformers (for a GPU machine).

    make bench-embed [DEVICE=cuda] [CHUNKS=512]
    .venv/bin/python -m bench.embed [--chunks 64] [--device auto|cpu|cuda] [--raw-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

WORDS = [
    "account",
    "billing",
    "invoice",
    "refund",
    "order",
    "shipping",
    "delivery",
    "password",
    "reset",
    "login",
    "customer",
    "support",
    "ticket",
    "subscription",
    "plan",
    "upgrade",
    "payment",
    "card",
    "bank",
    "transfer",
    "receipt",
    "warranty",
    "return",
    "policy",
    "product",
    "price",
    "discount",
    "coupon",
    "address",
    "email",
    "notification",
    "settings",
    "profile",
    "security",
    "privacy",
    "data",
    "export",
    "import",
    "report",
    "dashboard",
    "team",
    "member",
    "role",
    "permission",
    "api",
    "key",
]


def sentence(rng: random.Random) -> str:
    """A plausible support-page sentence."""
    words = rng.choices(WORDS, k=rng.randint(8, 18))
    return " ".join(words).capitalize() + "."


def passages(tokenizer: Any, count: int, tokens: int, seed: int = 7) -> list[str]:
    """``count`` passages of about ``tokens`` model tokens each."""
    rng = random.Random(seed)
    result: list[str] = []
    for _ in range(count):
        text = ""
        while len(tokenizer.tokenize(text)) < tokens - 20:
            text = f"{text} {sentence(rng)}".strip()
        result.append(text)
    return result


def raw_rate(model: Any, texts: list[str], batch_size: int) -> float:
    """Chunks/s of one ``encode`` call over ``texts`` (after a warm-up batch)."""
    model.encode(texts[:batch_size], batch_size=batch_size, normalize_embeddings=True)
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
    return len(texts) / (time.perf_counter() - started)


async def service_rate(texts: list[str], device: str, batch_pages: int) -> tuple[float, list[str]]:
    """Chunks/s through the service's batching path, and the passages it embedded."""
    from uuid import UUID

    from prometheus_client import CollectorRegistry
    from ragchat_common.events import ChunkEmbedded, PageParsed, TextBlock
    from ragchat_embedder.domain.chunking import ChunkingRules, context_line, passage_for
    from ragchat_embedder.encoders.loaded import EmbedderModels, ModelChoice
    from ragchat_embedder.handlers.pages import EmbedderMetrics, ImageRules, PageEmbedder
    from ragchat_embedder.settings import EmbedderSettings

    models = EmbedderModels(ModelChoice(device=device, ocr=False))  # type: ignore[arg-type]
    await models.load()
    embedder = PageEmbedder(
        models,
        ChunkingRules(),
        None,
        ImageRules(enabled=False),
        EmbedderMetrics(CollectorRegistry()),
    )
    pages = [
        PageParsed(
            page_id=f"bench-{i}",
            crawl_id=UUID(int=0),
            kb_id=UUID(int=0),
            tenant_id=UUID(int=0),
            url=f"https://bench.example/{i}",
            canonical_url=f"https://bench.example/{i}",
            title=f"Help page {i}",
            blocks=[TextBlock(heading_path=["Guide"], text=" ".join(texts[i : i + 4]))],
        )
        for i in range(0, len(texts), 4)
    ]
    group_chunks = EmbedderSettings().publish_group_chunks
    async for _ in embedder.message_groups(pages[:1], group_chunks):  # warm-up
        pass
    started = time.perf_counter()
    chunks: list[ChunkEmbedded] = []
    for start in range(0, len(pages), batch_pages):
        batch = pages[start : start + batch_pages]
        async for messages in embedder.message_groups(batch, group_chunks):
            chunks.extend(m for m in messages if isinstance(m, ChunkEmbedded))
    elapsed = time.perf_counter() - started
    embedded = [passage_for(context_line(c.title, c.heading_path), c.text) for c in chunks]
    return len(chunks) / elapsed, embedded


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-pages", type=int, default=32)
    parser.add_argument("--model", type=Path, default=None, help="model folder (raw-only runs)")
    parser.add_argument("--raw-only", action="store_true")
    parser.add_argument(
        "--batch-sizes",
        default="16,32,64",
        help="comma-separated encode batch sizes (a GPU wants more chunks and larger batches)",
    )
    args = parser.parse_args()
    batch_sizes = sorted({int(b) for b in args.batch_sizes.split(",") if b.strip()})

    import torch
    from sentence_transformers import SentenceTransformer

    device = (
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    if args.model is None:
        from ragchat_embedder.encoders.tokens import default_model_path

        args.model = default_model_path()
    model = SentenceTransformer(str(args.model), device=device, local_files_only=True)
    texts = passages(model.tokenizer, args.chunks, args.tokens)
    mean_tokens = sum(len(model.tokenizer.tokenize(t)) for t in texts) / len(texts)
    raw = {b: raw_rate(model, texts, b) for b in batch_sizes}
    rows = [(f"raw encode, batch {b}", rate) for b, rate in raw.items()]
    best = max(raw, key=raw.__getitem__)
    line = (
        f"BENCH embed device={device} raw_best_chunks_per_s={raw[best]:.1f} raw_best_batch={best}"
    )
    if not args.raw_only:
        rate, embedded = asyncio.run(service_rate(texts, device, args.batch_pages))
        ceiling = raw_rate(model, embedded, 32)
        rows.append((f"raw encode of the service's {len(embedded)} chunks, batch 32", ceiling))
        rows.append((f"service path, {args.batch_pages} pages/batch", rate))
        line += f" service_chunks_per_s={rate:.1f} ceiling_ratio={rate / ceiling:.2f}"
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, {len(texts)} passages of"
        f" {mean_tokens:.0f} tokens on average"
    )
    print(f"{'path':<48} {'chunks/s':>10}")
    for name, rate in rows:
        print(f"{name:<48} {rate:>10.1f}")
    print(line)


if __name__ == "__main__":
    main()
