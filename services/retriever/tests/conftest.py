"""Fixtures of the retriever's search tests: the real query model, loaded once per session, and a
tiny CLIP built locally."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from ragchat_retriever.encoders.loaded import QueryModels


@pytest.fixture(scope="session")
async def query_models() -> QueryModels:
    """all-MiniLM-L6-v2 from its PyPI package, as the service loads it (no CLIP)."""
    models = QueryModels(device="cpu")
    await models.load()
    return models


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised CLIP with tiny towers and a 512-d projection, saved like a real
    model folder (weights, config, image processor and a letter-level tokenizer), so loading and
    encoding run for real without any download. Its vectors mean nothing; the tests check the
    search path (same image in, same image out; scope; ranking by cosine), not CLIP's quality."""
    from transformers import (
        CLIPConfig,
        CLIPImageProcessorPil,
        CLIPModel,
        CLIPTextConfig,
        CLIPTokenizer,
        CLIPVisionConfig,
    )

    letters = string.ascii_lowercase + string.digits
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for letter in letters:
        vocab[letter] = len(vocab)
        vocab[f"{letter}</w>"] = len(vocab)
    tower = {"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4}
    config = CLIPConfig(
        text_config=CLIPTextConfig(
            **tower, num_hidden_layers=2, vocab_size=len(vocab), bos_token_id=0, eos_token_id=1
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
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    return folder
