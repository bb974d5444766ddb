"""Images as chunks: what text an image is found by.

An image is indexed by its alt text, caption, title and the text read from its pixels (OCR);
when it has none of these, by the text near it on the page. An image with no text at all is not
indexed (nothing could find it by text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ragchat_common.events import ImageRef

from ragchat_embedder.domain.chunking import content_hash, passage_for


@dataclass(frozen=True)
class ImageChunk:
    """One image of a page, ready to embed."""

    image: ImageRef
    text: str
    passage: str
    content_hash: str


def distinct_images(images: Sequence[ImageRef], limit: int) -> list[ImageRef]:
    """The page's images without repeats of the same ``src``, at most ``limit`` of them."""
    seen: set[str] = set()
    kept: list[ImageRef] = []
    for image in images:
        if image.src in seen or not image.src.strip():
            continue
        seen.add(image.src)
        kept.append(image)
    return kept[:limit]


def image_text(image: ImageRef, ocr_text: str) -> str:
    """Alt text, caption, title and OCR text, each once; else the text near the image."""
    parts: list[str] = []
    for part in (image.alt, image.caption, image.title, ocr_text):
        cleaned = part.strip()
        if cleaned and cleaned not in parts:
            parts.append(cleaned)
    return "\n".join(parts) if parts else image.nearby_text.strip()


def image_chunk(image: ImageRef, ocr_text: str, page_title: str) -> ImageChunk | None:
    """The chunk of one image, or ``None`` when it has no text to be found by."""
    text = image_text(image, ocr_text)
    if not text:
        return None
    passage = passage_for(page_title.strip(), text)
    return ImageChunk(image, text, passage, content_hash("image", image.src, passage))
