"""Image vectors with CLIP (transformers ``CLIPModel``), from a local model folder.

Optional: with no folder configured, images are still indexed by their alt text, caption and OCR
text, only without an image vector.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from PIL.Image import Image
from transformers import AutoImageProcessor, CLIPModel


@dataclass(frozen=True)
class ClipImageEncoder:
    """Normalised CLIP image embeddings."""

    model: CLIPModel
    processor: Any  # a CLIP image processor; transformers picks its class from the folder
    device: str
    path: Path

    @classmethod
    def load(cls, path: Path, device: str) -> ClipImageEncoder:
        """Load model and image processor from ``path`` (blocking, local files only)."""
        model = CLIPModel.from_pretrained(path, local_files_only=True)
        # transformers types ``PreTrainedModel.to`` through a decorator whose stub loses ``self``,
        # so a device string reads as the model argument; at run time this is ``nn.Module.to``.
        model = model.to(device).eval()  # type: ignore[arg-type]
        # AutoImageProcessor.from_pretrained has no annotations in transformers.
        processor = AutoImageProcessor.from_pretrained(  # type: ignore[no-untyped-call]
            path, local_files_only=True
        )
        return cls(model, processor, device, path)

    @property
    def dimensions(self) -> int:
        """Length of an image vector (512 for the usual CLIP models)."""
        dimensions = self.model.config.projection_dim
        if dimensions is None:
            raise ValueError(f"the CLIP model at {self.path} declares no projection_dim")
        return int(dimensions)

    def encode(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Unit-length vectors of ``images``, one row each (blocking)."""
        if not images:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        inputs = self.processor(images=list(images), return_tensors="pt").to(self.device)
        with torch.inference_mode():
            output = self.model.get_image_features(**inputs)
        # transformers 5 wraps the projected features in an output object; 4 returned a tensor.
        features = output if isinstance(output, torch.Tensor) else output.pooler_output
        features = torch.nn.functional.normalize(features.float(), dim=-1)
        return np.asarray(features.cpu().numpy(), dtype=np.float32)

    async def embed(self, images: Sequence[Image]) -> list[list[float]]:
        """:meth:`encode` in a worker thread, as plain lists for the events."""
        vectors = await asyncio.to_thread(self.encode, images)
        return [row.tolist() for row in vectors]
