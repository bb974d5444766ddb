"""Fixtures of the embedder's tests: a tiny CLIP model built locally, and images with text."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIP with tiny towers and a 512-d projection, saved like a real
    model folder (weights, config, image processor), so loading and encoding run for real
    without any download."""
    from transformers import (
        CLIPConfig,
        CLIPImageProcessorPil,
        CLIPModel,
        CLIPTextConfig,
        CLIPVisionConfig,
    )

    tower = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4}
    config = CLIPConfig(
        text_config=CLIPTextConfig(
            **tower, num_hidden_layers=2, vocab_size=99, bos_token_id=0, eos_token_id=1
        ).to_dict(),
        vision_config=CLIPVisionConfig(
            **tower, num_hidden_layers=2, image_size=32, patch_size=8
        ).to_dict(),
        projection_dim=512,
    )
    folder = tmp_path_factory.mktemp("tiny-clip")
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(folder)
    return folder


def picture_with_text(text: str, size: tuple[int, int] = (520, 120)) -> Image.Image:
    """A white picture with ``text`` drawn in black, large and clear."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((20, 30), text, fill="black", font=ImageFont.load_default(size=40))
    return image


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def text_picture() -> Callable[[str], Image.Image]:
    """Draws a picture showing a text."""
    return picture_with_text


@pytest.fixture(scope="session")
def text_png() -> Callable[[str], bytes]:
    """A PNG file showing a text."""
    return lambda text: png_bytes(picture_with_text(text))
