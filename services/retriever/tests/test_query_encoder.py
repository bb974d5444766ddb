"""The ONNX query encoder puts queries where sentence-transformers (the embedder's runtime for
the indexed chunks) puts them, and exports the model only once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ragchat_retriever.encoders.onnx_export import exported_model
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


def test_export_is_reused(tmp_path: Path) -> None:
    model = default_model_path()
    first = exported_model(model, tmp_path)
    written = first.stat().st_mtime_ns
    assert exported_model(model, tmp_path) == first
    assert first.stat().st_mtime_ns == written
    assert [p.name for p in first.parent.iterdir()] == ["model.onnx"]
