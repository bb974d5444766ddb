"""The CLI's own pieces: the session file's permissions and the SSE parser."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from ragchat_gateway.cli.client import SseEvent, parse_sse
from ragchat_gateway.cli.credentials import CredentialStore, StoredSession, config_dir

pytestmark = pytest.mark.unit


def test_the_session_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "ragchat" / "credentials")
    session = StoredSession("http://gw", "ada@example.com", "refresh-1", "access-1", 123.0)

    store.save(session)
    store.save(StoredSession("http://gw", "ada@example.com", "refresh-2"))

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    loaded = store.load()
    assert loaded is not None and loaded.refresh_token == "refresh-2"
    store.clear()
    assert store.load() is None


def test_the_config_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAGCHAT_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_dir() == tmp_path / "ragchat"
    monkeypatch.setenv("RAGCHAT_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert config_dir() == tmp_path / "elsewhere"


def test_server_sent_events_are_parsed_in_order() -> None:
    stream = [
        ": a comment",
        "event: token",
        'data: {"text": "Hel"}',
        "",
        "event: token",
        'data: {"text": "lo"}',
        "",
        "event: summary",
        'data: {"declined": false,',
        'data:  "total_ms": 12.5}',
        "",
    ]

    assert list(parse_sse(iter(stream))) == [
        SseEvent("token", {"text": "Hel"}),
        SseEvent("token", {"text": "lo"}),
        SseEvent("summary", {"declined": False, "total_ms": 12.5}),
    ]
