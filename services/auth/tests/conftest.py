"""Fixtures of the auth tests: a running auth service on this test's scratch database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from ragchat_auth.settings import AuthSettings
from ragchat_common.settings import PostgresSettings

from .harness import AuthClient, auth_settings, running_auth


@pytest.fixture
def make_settings(
    scratch_database: PostgresSettings, tmp_path: Path
) -> Callable[..., AuthSettings]:
    """Builds settings on this test's scratch database."""
    return lambda **overrides: auth_settings(scratch_database, tmp_path, **overrides)


@pytest.fixture
async def auth(make_settings: Callable[..., AuthSettings]) -> AsyncIterator[AuthClient]:
    """A running auth service whose first owner is OWNER_EMAIL / OWNER_PASSWORD."""
    async with running_auth(make_settings()) as client:
        yield client
