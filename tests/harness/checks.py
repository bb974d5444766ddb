"""Checks on what the chunks index holds, shared by the ingestion tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ragchat_common.events import page_id_for


def chunks_by_url(chunks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The index's chunks grouped by page URL, each page's in ordinal order."""
    pages: dict[str, list[dict[str, Any]]] = {}
    for chunk in sorted(chunks, key=lambda c: (c["url"], c["ordinal"])):
        pages.setdefault(chunk["url"], []).append(chunk)
    return pages


def assert_well_formed(chunks: list[dict[str, Any]], kb_id: UUID) -> None:
    """Every chunk once under its own id; each page's ordinals 0..n-1 with n its chunk_count;
    the page id is the one the contract derives from the knowledge base and the URL."""
    ids = [c["chunk_id"] for c in chunks]
    assert len(ids) == len(set(ids)), "a chunk id occurs twice"
    assert all(c["_id"] == c["chunk_id"] for c in chunks)
    for url, page in chunks_by_url(chunks).items():
        assert {c["page_id"] for c in page} == {page_id_for(kb_id, url)}, url
        assert [c["ordinal"] for c in page] == list(range(len(page))), url
        assert {c["chunk_count"] for c in page} == {len(page)}, url
