"""The ONNX query encoder puts queries where sentence-transformers (the embedder's runtime for
the indexed chunks) puts them, and exports the model only once (ahead of the first start too, as
the container image does)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from ragchat_retriever.encoders import bake
from ragchat_retriever.encoders.onnx_export import export_key, exported_model
from ragchat_retriever.encoders.text import QueryEncoder, default_model_path
from sentence_transformers import SentenceTransformer

pytestmark = pytest.mark.unit

QUERIES = [
    "how do I reset my password",
    "x",
    "Wie ändere ich mein Passwort?",
    "ticket #4711: refund policy for EU customers (VAT incl.)",
    "RTX-4090 vs. 7900XTX driver crash on resume",
    # Longer than the model's 256-token limit: both sides must truncate the same way.
    "the configuration file is read at start and every section is optional " * 30,
]


@pytest.fixture(scope="module")
def reference() -> SentenceTransformer:
    """all-MiniLM-L6-v2 through sentence-transformers, as the embedder loads it."""
    return SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> QueryEncoder:
    """The retriever's encoder, exporting into a fresh cache folder."""
    return QueryEncoder.load(device="cpu", cache_dir=tmp_path_factory.mktemp("models"))


def test_query_vectors_equal_sentence_transformers(
    encoder: QueryEncoder, reference: SentenceTransformer
) -> None:
    expected = reference.encode(QUERIES, normalize_embeddings=True)
    one_by_one = np.array([encoder.encode(q) for q in QUERIES])
    batched = np.array(encoder.encode_many(QUERIES))
    for vectors in (one_by_one, batched):
        assert vectors.shape == (len(QUERIES), 384)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert ((vectors * expected).sum(axis=1) > 0.9999).all()


def test_export_made_ahead_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RETRIEVER_MODEL_CACHE_DIR", str(tmp_path))
    bake.main()
    first = Path(capsys.readouterr().out.strip())
    assert first.parent.parent == tmp_path
    model = default_model_path()
    written = first.stat().st_mtime_ns
    assert exported_model(model, tmp_path) == first
    assert first.stat().st_mtime_ns == written
    assert [p.name for p in first.parent.iterdir()] == ["model.onnx"]


def test_the_export_key_ignores_parts_of_a_second(tmp_path: Path) -> None:
    """An image layer keeps whole seconds: the export made while the image was built must match
    the weights as its pods see them."""
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights")
    built = 1_700_000_000_123_456_789
    os.utime(weights, ns=(built, built))
    key = export_key(tmp_path)
    in_the_layer = built // 1_000_000_000 * 1_000_000_000
    os.utime(weights, ns=(in_the_layer, in_the_layer))
    assert export_key(tmp_path) == key
    os.utime(weights, ns=(in_the_layer + 1_000_000_000,) * 2)
    assert export_key(tmp_path) != key
