"""The models, loaded from local files only: text vectors are normalised 384-d and mean something,
encoding runs off the event loop, OCR reads text in a picture, and CLIP loads from a local folder
and gives normalised 512-d image vectors."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from ragchat_embedder.encoders.clip import ClipImageEncoder
from ragchat_embedder.encoders.loaded import EmbedderModels, ModelChoice, ModelsNotLoaded
from ragchat_embedder.encoders.ocr import ImageTextReader
from ragchat_embedder.encoders.text import TextEncoder

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    return TextEncoder.load(device="cpu", batch_size=16)


def test_the_service_puts_hugging_face_offline_before_loading() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_text_vectors_are_normalised_384_d_and_closer_for_related_texts(
    text_encoder: TextEncoder,
) -> None:
    vectors = text_encoder.encode(
        [
            "How do I reset my password?",
            "Forgot your password? Use the reset link on the sign-in page.",
            "Our office is closed on public holidays.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    question, answer, unrelated = vectors
    assert question @ answer > question @ unrelated + 0.2


async def test_embedding_runs_off_the_event_loop(text_encoder: TextEncoder) -> None:
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    vectors = await text_encoder.embed(["a passage about billing " * 30] * 64)
    ticks_while_encoding = ticks
    done.set()
    await task
    assert len(vectors) == 64
    assert ticks_while_encoding > 1, "the event loop was blocked while encoding"


def test_ocr_reads_text_drawn_in_a_picture(
    text_picture: Callable[[str], Image.Image],
) -> None:
    reader = ImageTextReader.load()
    assert reader.read(text_picture("Reset password")) == "Reset password"
    assert reader.read(Image.new("RGB", (200, 80), "white")) == ""


def test_clip_loads_from_a_local_folder_and_gives_normalised_512_d_vectors(
    tiny_clip_path: Path, text_picture: Callable[[str], Image.Image]
) -> None:
    clip = ClipImageEncoder.load(tiny_clip_path, "cpu")
    vectors = clip.encode([text_picture("one"), Image.new("RGB", (64, 48), "red")])
    assert clip.dimensions == 512
    assert vectors.shape == (2, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])


async def test_readiness_says_whether_image_vectors_are_on(tiny_clip_path: Path) -> None:
    without = EmbedderModels(ModelChoice(device="cpu", ocr=False))
    with pytest.raises(ModelsNotLoaded):
        await without.text_probe()
    await without.load()
    assert await without.image_vectors_probe() == "image vectors off: no CLIP model path"
    assert await without.text_probe() == "all-MiniLM-L6-v2 on cpu"
    with_clip = EmbedderModels(ModelChoice(device="cpu", ocr=False, clip_model_path=tiny_clip_path))
    await with_clip.load()
    assert await with_clip.image_vectors_probe() == f"on: {tiny_clip_path}"
