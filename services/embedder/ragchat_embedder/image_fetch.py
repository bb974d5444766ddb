"""Fetching a page's images through the SSRF guard, within size, type and pixel limits.

Image URLs come from crawled pages, so they are fetched like pages: every connection and redirect
hop is checked by :mod:`ragchat_common.ssrf`. A refused or broken image is not an error of the
page: the image is still indexed by its alt text and caption, and the reason is counted.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import httpx
from PIL import Image as PILImage
from PIL.Image import Image
from ragchat_common.ssrf import SsrfPolicy, SsrfRefused, guarded_client


@dataclass(frozen=True)
class ImageLimits:
    """What the embedder accepts as an image."""

    max_bytes: int
    max_pixels: int
    types: frozenset[str]


@dataclass(frozen=True)
class FetchedImage:
    """A decoded image, in RGB."""

    src: str
    image: Image


@dataclass(frozen=True)
class ImageRefused:
    """Why an image was not fetched or decoded (a short reason for metrics, and detail)."""

    src: str
    reason: str
    detail: str


class ImageFetcher:
    """Downloads and decodes images through an SSRF-guarded HTTP client."""

    def __init__(self, client: httpx.AsyncClient, limits: ImageLimits) -> None:
        self.client = client
        self.limits = limits

    @classmethod
    def guarded(cls, policy: SsrfPolicy, limits: ImageLimits, timeout_s: float) -> ImageFetcher:
        """A fetcher whose client refuses private and metadata addresses unless allow-listed."""
        return cls(guarded_client(policy, timeout=timeout_s), limits)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    async def fetch(self, src: str) -> FetchedImage | ImageRefused:
        """The image at ``src``, or why it was refused."""
        try:
            body = await self._download(src)
        except SsrfRefused as exc:
            return ImageRefused(src, "ssrf", str(exc))
        except httpx.HTTPError as exc:
            return ImageRefused(src, "fetch", f"{type(exc).__name__}: {exc}")
        if isinstance(body, ImageRefused):
            return body
        return self._decode(src, body)

    async def _download(self, src: str) -> bytes | ImageRefused:
        async with self.client.stream("GET", src) as response:
            if response.status_code != 200:
                return ImageRefused(src, "status", f"HTTP {response.status_code}")
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in self.limits.types:
                return ImageRefused(src, "type", f"content type {media_type or 'missing'!r}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > self.limits.max_bytes:
                return ImageRefused(src, "size", f"{declared} bytes declared")
            body = bytearray()
            async for part in response.aiter_bytes():
                body.extend(part)
                # Checked while reading: a missing or lying Content-Length cannot exhaust memory.
                if len(body) > self.limits.max_bytes:
                    return ImageRefused(src, "size", f"over {self.limits.max_bytes} bytes")
            return bytes(body)

    def _decode(self, src: str, body: bytes) -> FetchedImage | ImageRefused:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", PILImage.DecompressionBombWarning)
                image = PILImage.open(io.BytesIO(body))
                # The header gives the size before any pixel is decoded.
                if image.width * image.height > self.limits.max_pixels:
                    return ImageRefused(src, "pixels", f"{image.width}x{image.height}")
                image.load()
            return FetchedImage(src, image.convert("RGB"))
        except (OSError, ValueError, PILImage.DecompressionBombWarning) as exc:
            return ImageRefused(src, "decode", f"{type(exc).__name__}: {exc}")
