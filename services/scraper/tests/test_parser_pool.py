"""The parser pool's worker processes: they parse off the event loop and are gone after a stop."""

from __future__ import annotations

import multiprocessing

import pytest
from ragchat_scraper.crawler.parsing import ParserPool

pytestmark = pytest.mark.unit


def _children() -> set[int]:
    """This process's live child processes started by multiprocessing (reaping finished ones)."""
    return {child.pid for child in multiprocessing.active_children() if child.pid is not None}


async def test_stop_leaves_no_worker_process_behind() -> None:
    before = _children()
    pool = ParserPool(processes=2)
    await pool.start()
    parsed = await pool.html(
        b"<html><title>T</title><p>Body text here.</p></html>", None, "http://h/"
    )
    assert parsed.page.title == "T"
    assert len(_children() - before) == 2

    await pool.stop()

    assert _children() - before == set()


async def test_a_stopped_pool_starts_new_workers_on_the_next_document() -> None:
    before = _children()
    pool = ParserPool(processes=1)
    await pool.stop()  # stopping a pool that never started is a no-op
    parsed = await pool.html(b"<p>Again.</p>", "utf-8", "http://h/")
    await pool.stop()
    assert parsed.fingerprint
    assert _children() - before == set()
