"""CLIP for image mode: a text or an image to a vector in the space of the indexed image vectors.

The model is the embedder's (same local folder, ``RETRIEVER_CLIP_MODEL_PATH``), so a query's
vector is comparable with the image vectors it indexed. Loading and encoding block, so both run
in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from PIL import Image, UnidentifiedImageError
from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

from ragchat_retriever.domain.searcher import UnreadableImage


def _features(output: Any) -> torch.Tensor:
    """Projected features: transformers 5 wraps them in an output object, 4 returned a tensor."""
    features = output if isinstance(output, torch.Tensor) else output.pooler_output
    return torch.nn.functional.normalize(features.float(), dim=-1)


@dataclass(frozen=True)
class ClipQueryEncoder:
    """Normalised CLIP vectors of query texts and query images."""

    model: CLIPModel
    tokenizer: Any  # a CLIP tokenizer; transformers picks its class from the folder
    processor: Any  # a CLIP image processor, likewise
    device: str
    path: Path

    @classmethod
    def load(
        cls, path: Path, device: Literal["auto", "cpu", "cuda"], threads: int
    ) -> ClipQueryEncoder:
        """Load model, tokenizer and image processor from ``path`` (blocking, local only) onto
        ``device`` (``auto``: CUDA when PyTorch sees a GPU), with ``threads`` PyTorch threads."""
        torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        model = CLIPModel.from_pretrained(path, local_files_only=True)
        # transformers types ``PreTrainedModel.to`` through a decorator whose stub loses ``self``.
        model = model.to(device).eval()  # type: ignore[arg-type]
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        # AutoImageProcessor.from_pretrained has no annotations in transformers.
        processor = AutoImageProcessor.from_pretrained(  # type: ignore[no-untyped-call]
            path, local_files_only=True
        )
        return cls(model, tokenizer, processor, device, path)

    def encode_text(self, query: str) -> tuple[float, ...]:
        """The unit-length CLIP text vector of ``query`` (blocking)."""
        inputs = self.tokenizer([query], padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            output = self.model.get_text_features(**inputs.to(self.device))
        return tuple(float(x) for x in _features(output)[0].cpu())

    def encode_image(self, data: bytes) -> tuple[float, ...]:
        """The unit-length CLIP image vector of encoded image bytes (blocking)."""
        try:
            image = Image.open(io.BytesIO(data)).convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise UnreadableImage(f"the query image cannot be decoded: {exc}") from exc
        inputs = self.processor(images=[image], return_tensors="pt").to(self.device)
        with torch.inference_mode():
            output = self.model.get_image_features(**inputs)
        return tuple(float(x) for x in _features(output)[0].cpu())

    async def embed_text(self, query: str) -> tuple[float, ...]:
        """:meth:`encode_text` in a worker thread."""
        return await asyncio.to_thread(self.encode_text, query)

    async def embed_image(self, data: bytes) -> tuple[float, ...]:
        """:meth:`encode_image` in a worker thread."""
        return await asyncio.to_thread(self.encode_image, data)
