"""Text inside images, read with RapidOCR (its ONNX models ship inside the wheel).

Text cropped tightly to an image's edges is misread, so every image gets a white margin first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from PIL import ImageOps
from PIL.Image import Image
from rapidocr_onnxruntime import RapidOCR


@dataclass(frozen=True)
class ImageTextReader:
    """Reads the lines of text in an image, top to bottom."""

    engine: RapidOCR
    padding_px: int = 32
    min_score: float = 0.5

    @classmethod
    def load(cls, padding_px: int = 32) -> ImageTextReader:
        """Start the OCR engine (blocking, about a second)."""
        return cls(RapidOCR(), padding_px)

    def read(self, image: Image) -> str:
        """The text in ``image``, one detected line per line (blocking)."""
        padded = ImageOps.expand(image.convert("RGB"), border=self.padding_px, fill="white")
        # RapidOCR takes arrays in OpenCV's BGR channel order.
        result, _ = self.engine(np.asarray(padded)[:, :, ::-1])
        if not result:
            return ""
        lines = sorted(
            (line for line in result if float(line[2]) >= self.min_score),
            key=lambda line: (line[0][0][1], line[0][0][0]),
        )
        return "\n".join(str(line[1]).strip() for line in lines if str(line[1]).strip())

    async def read_text(self, image: Image) -> str:
        """:meth:`read` in a worker thread."""
        return await asyncio.to_thread(self.read, image)
