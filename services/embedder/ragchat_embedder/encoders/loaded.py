"""The embedder's models, loaded once at start-up and shared by every batch.

The Kafka subscriber is declared before the process starts, while the models load (in a worker
thread, so start-up does not block the event loop) when the service starts: the subscriber
reaches them through this holder, which refuses use before loading.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ragchat_embedder.encoders.clip import ClipImageEncoder
from ragchat_embedder.encoders.ocr import ImageTextReader
from ragchat_embedder.encoders.text import TextEncoder


class ModelsNotLoaded(RuntimeError):
    """A model was used before start-up loaded it."""


@dataclass(frozen=True)
class ModelChoice:
    """Which models to load, and where."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    encode_batch_size: int = 32
    text_model_path: Path | None = None
    clip_model_path: Path | None = None
    ocr: bool = True
    ocr_padding_px: int = 32


@dataclass
class Loaded:
    """The models in memory."""

    text: TextEncoder
    ocr: ImageTextReader | None
    clip: ClipImageEncoder | None


@dataclass
class EmbedderModels:
    """Holds the loaded models; :meth:`load` is the start-up step, the probes feed ``/readyz``."""

    choice: ModelChoice
    _loaded: Loaded | None = field(default=None, init=False)

    def _load_blocking(self) -> Loaded:
        text = TextEncoder.load(
            self.choice.text_model_path, self.choice.device, self.choice.encode_batch_size
        )
        ocr = ImageTextReader.load(self.choice.ocr_padding_px) if self.choice.ocr else None
        clip = (
            ClipImageEncoder.load(self.choice.clip_model_path, text.device)
            if self.choice.clip_model_path is not None
            else None
        )
        return Loaded(text, ocr, clip)

    async def load(self) -> None:
        """Load every configured model (in a worker thread)."""
        self._loaded = await asyncio.to_thread(self._load_blocking)

    async def unload(self) -> None:
        """Drop the models (shutdown)."""
        self._loaded = None

    @property
    def loaded(self) -> Loaded:
        """The models; raises :class:`ModelsNotLoaded` before :meth:`load`."""
        if self._loaded is None:
            raise ModelsNotLoaded("the embedder's models are not loaded yet")
        return self._loaded

    async def text_probe(self) -> str | None:
        """Readiness: the text model is loaded, on which device."""
        text = self.loaded.text
        return f"all-MiniLM-L6-v2 on {text.device}"

    async def image_vectors_probe(self) -> str | None:
        """Readiness detail: whether images get CLIP vectors, and from where."""
        if self.choice.clip_model_path is None:
            return "image vectors off: no CLIP model path"
        clip = self.loaded.clip
        assert clip is not None, "a CLIP path is configured, so load() loaded it"
        return f"on: {clip.path}"

    async def ocr_probe(self) -> str | None:
        """Readiness detail: whether text in images is read."""
        return "on: RapidOCR" if self.loaded.ocr is not None else "off"
