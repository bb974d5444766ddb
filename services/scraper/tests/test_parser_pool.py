"""The parser pool's worker processes: they parse off the event loop and are gone after a stop."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time

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


# A service that starts its parser pool, reports the workers' pids and waits to be killed.
SERVICE = """
import asyncio, multiprocessing, sys, time
from ragchat_scraper.crawler.parsing import ParserPool

async def main():
    pool = ParserPool(processes=2)
    await pool.start()
    print(" ".join(str(c.pid) for c in multiprocessing.active_children()), flush=True)
    time.sleep(600)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_exit_when_the_service_is_killed() -> None:
    service = subprocess.Popen([sys.executable, "-c", SERVICE], stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None
        workers = [int(pid) for pid in service.stdout.readline().split()]
        assert len(workers) >= 2 and all(_alive(pid) for pid in workers)
    finally:
        service.kill()
        service.wait()
    # Orphaned workers are adopted by init, which reaps them once they exit.
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers still running: {workers}"
        time.sleep(0.2)
