"""Event models: stable ids, strict schemas, lossless JSON round trips."""

from uuid import uuid4

import pytest
from pydantic import ValidationError
from ragchat_common.events import (
    ChunkEmbedded,
    CrawlProgress,
    CrawlState,
    UrlSubmitted,
    chunk_id_for,
    page_id_for,
)

pytestmark = pytest.mark.unit


def test_page_id_is_stable_per_kb_and_url() -> None:
    kb = uuid4()
    assert page_id_for(kb, "https://a.example/x") == page_id_for(kb, "https://a.example/x")
    assert page_id_for(kb, "https://a.example/x") != page_id_for(kb, "https://a.example/y")
    assert page_id_for(kb, "https://a.example/x") != page_id_for(uuid4(), "https://a.example/x")


def test_chunk_id_changes_with_content_or_position() -> None:
    base = chunk_id_for("p1", 0, "h1")
    assert base == chunk_id_for("p1", 0, "h1")
    assert len({base, chunk_id_for("p1", 1, "h1"), chunk_id_for("p1", 0, "h2")}) == 3


def test_event_round_trips_through_json() -> None:
    event = UrlSubmitted(
        crawl_id=uuid4(),
        kb_id=uuid4(),
        tenant_id=uuid4(),
        urls=["https://docs.example/"],
        submitted_by="user-1",
    )
    assert UrlSubmitted.model_validate_json(event.model_dump_json()) == event


def test_unknown_schema_version_is_refused() -> None:
    payload = CrawlProgress(
        crawl_id=uuid4(), kb_id=uuid4(), tenant_id=uuid4(), state=CrawlState.RUNNING
    ).model_dump(mode="json")
    payload["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        CrawlProgress.model_validate(payload)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        UrlSubmitted.model_validate(
            {
                "crawl_id": str(uuid4()),
                "kb_id": str(uuid4()),
                "tenant_id": str(uuid4()),
                "urls": ["https://x.example/"],
                "submitted_by": "u",
                "surprise": 1,
            }
        )


def test_submission_needs_at_least_one_url() -> None:
    with pytest.raises(ValidationError, match="urls"):
        UrlSubmitted(crawl_id=uuid4(), kb_id=uuid4(), tenant_id=uuid4(), urls=[], submitted_by="u")


def test_chunk_ordinal_and_count_are_validated() -> None:
    with pytest.raises(ValidationError):
        ChunkEmbedded(
            chunk_id="c",
            page_id="p",
            crawl_id=uuid4(),
            kb_id=uuid4(),
            tenant_id=uuid4(),
            url="https://x.example/",
            ordinal=-1,
            chunk_count=0,
            text="t",
            content_hash="h",
            vector=[0.0] * 384,
        )
