"""Parsing fetched documents in worker processes, off the crawler's event loop.

Parsing is the crawler's CPU work (the lexbor tree is walked in Python, every link is
canonicalised): on the event loop it held up fetching, publishing and the database, so the
crawl ran at the speed of one core. Threads would not help: the walk over the tree is Python
code that holds the GIL. So documents are parsed in a pool of processes and the loop only
awaits the result. Workers are started with ``spawn`` (a ``fork`` of
the service, with its Kafka, PostgreSQL and Redis connections and their threads, is unsafe) when
the service starts, so their start-up (multiprocessing imports the service's entry module in
each) is paid before the first crawl, not during it.

A worker that dies (a document that exhausts its memory) breaks the whole pool in
``concurrent.futures``; the pool is then replaced, and only that document fails. A service that
dies without stopping the pool (``kill -9``, the OOM killer) would leave its workers blocked on
their queue for ever, so each worker watches its parent and exits when it is gone.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

from ragchat_common.logs import get_logger

from ragchat_scraper.domain.content import content_hash
from ragchat_scraper.domain.html import ParsedHtml, parse_html
from ragchat_scraper.domain.pdf import ParsedPdf, UnreadablePdf, parse_pdf

log = get_logger(__name__)
T = TypeVar("T")


class ParserCrashed(Exception):
    """The worker parsing a document died; the document is recorded as failed."""


@dataclass(frozen=True)
class ParsedDocument:
    """A parsed HTML page with the fingerprint of its content."""

    page: ParsedHtml
    fingerprint: str


def parse_html_document(body: bytes, charset: str | None, url: str) -> ParsedDocument:
    """Decode and parse an HTML body fetched from ``url`` (runs in a worker process)."""
    page = parse_html(body.decode(charset or "utf-8", errors="replace"), url)
    return ParsedDocument(page, content_hash(page.title, page.blocks))


def parse_html_text(html: str, url: str) -> ParsedDocument:
    """Parse HTML that is already text (a page rendered by the browser)."""
    page = parse_html(html, url)
    return ParsedDocument(page, content_hash(page.title, page.blocks))


def parse_pdf_document(body: bytes, name: str) -> ParsedPdf | str:
    """A PDF's text, or why it cannot be read (an exception would cost a traceback's pickling)."""
    try:
        return parse_pdf(body, name)
    except UnreadablePdf as exc:
        return str(exc)


PARENT_CHECK_S = 1.0


def exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process once ``parent_pid`` is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ParserPool:
    """A pool of parser processes, with the event loop's side of each call.

    ``processes=0`` parses on the calling thread's event loop (for tools that embed the crawler
    in one process); the service always uses processes.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._executor

    async def start(self) -> None:
        """Start the workers now (they import the parser once), not on the first page."""
        if self.processes > 0:
            await asyncio.gather(
                *(self._run(parse_html_text, "<p></p>", "http://x/") for _ in range(self.processes))
            )

    async def stop(self) -> None:
        """Stop the workers once they finish the document in hand (queued ones are dropped).

        The wait is for the workers' exit: without it the service could exit first and leave
        them running, orphaned, each holding a parser's memory.
        """
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        if self.processes == 0:
            return function(*args)
        pool = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except BrokenProcessPool as exc:
            if self._executor is pool:
                log.error("a parser process died; starting a new pool")
                pool.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            raise ParserCrashed("the parser process died on this document") from exc

    async def html(self, body: bytes, charset: str | None, url: str) -> ParsedDocument:
        """Parse a fetched HTML body."""
        return await self._run(parse_html_document, body, charset, url)

    async def rendered_html(self, html: str, url: str) -> ParsedDocument:
        """Parse the HTML a browser rendered."""
        return await self._run(parse_html_text, html, url)

    async def pdf(self, body: bytes, name: str) -> ParsedPdf | str:
        """A PDF's text, or why it cannot be read."""
        return await self._run(parse_pdf_document, body, name)
