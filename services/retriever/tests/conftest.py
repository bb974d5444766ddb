"""Fixtures of the retriever's search tests: the real query model, loaded once per session."""

from __future__ import annotations

import pytest
from ragchat_retriever.encoders.loaded import QueryModels


@pytest.fixture(scope="session")
async def query_models() -> QueryModels:
    """all-MiniLM-L6-v2 from its PyPI package, as the service loads it (no CLIP)."""
    models = QueryModels(device="cpu")
    await models.load()
    return models
