"""The retriever's query models, loaded once at start-up (in a worker thread) and shared by every
request; requests before loading are refused.

PyTorch is imported only with a CLIP model configured: the text encoder runs on ONNX Runtime, and
PyTorch alone would add about 700 MB to the service's memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ragchat_retriever.encoders.text import QueryEncoder

if TYPE_CHECKING:
    from ragchat_retriever.encoders.clip import ClipQueryEncoder


class ModelsNotLoaded(RuntimeError):
    """A query model was used before start-up loaded it."""


@dataclass(frozen=True)
class Loaded:
    """The models in memory."""

    text: QueryEncoder
    clip: ClipQueryEncoder | None


@dataclass
class QueryModels:
    """Text (and, when configured, CLIP) query encoders behind one object.

    Serves as the searcher's text and image vector source; :meth:`load` is the start-up step.
    """

    text_model_path: Path | None = None
    clip_model_path: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 1
    """Threads per query encoding: ONNX Runtime's for text, PyTorch's (process-wide) for CLIP."""
    cache_dir: Path | None = None
    """Where the text model's ONNX export is kept (default ``~/.cache/ragchat/models``)."""
    _loaded: Loaded | None = field(default=None, init=False)

    def _load_blocking(self) -> Loaded:
        text = QueryEncoder.load(self.text_model_path, self.device, self.threads, self.cache_dir)
        if self.clip_model_path is None:
            return Loaded(text, None)
        from ragchat_retriever.encoders.clip import ClipQueryEncoder

        return Loaded(text, ClipQueryEncoder.load(self.clip_model_path, self.device, self.threads))

    async def load(self) -> None:
        """Load the configured models (in a worker thread)."""
        self._loaded = await asyncio.to_thread(self._load_blocking)

    async def unload(self) -> None:
        """Drop the models (shutdown)."""
        self._loaded = None

    @property
    def loaded(self) -> Loaded:
        """The models; raises :class:`ModelsNotLoaded` before :meth:`load`."""
        if self._loaded is None:
            raise ModelsNotLoaded("the retriever's query models are not loaded yet")
        return self._loaded

    @property
    def clip(self) -> ClipQueryEncoder:
        """The CLIP encoder; raises :class:`ModelsNotLoaded` when none is configured."""
        clip = self.loaded.clip
        if clip is None:
            raise ModelsNotLoaded("no CLIP model is configured (RETRIEVER_CLIP_MODEL_PATH)")
        return clip

    async def embed(self, query: str) -> tuple[float, ...]:
        """The all-MiniLM-L6-v2 vector of ``query``."""
        return await self.loaded.text.embed(query)

    async def embed_many(self, texts: list[str]) -> list[list[float]]:
        """all-MiniLM-L6-v2 vectors of short texts, in one batch."""
        return await self.loaded.text.embed_many(texts)

    async def embed_text(self, query: str) -> tuple[float, ...]:
        """The CLIP text vector of ``query``."""
        return await self.clip.embed_text(query)

    async def embed_image(self, data: bytes) -> tuple[float, ...]:
        """The CLIP image vector of an encoded image."""
        return await self.clip.embed_image(data)

    async def probe(self) -> str | None:
        """Readiness: the query models are loaded; the detail says which."""
        loaded = self.loaded
        image = f"CLIP {loaded.clip.path}" if loaded.clip else "no CLIP (image mode off)"
        return f"all-MiniLM-L6-v2 on {loaded.text.device}; {image}"
