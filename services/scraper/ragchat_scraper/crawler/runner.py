"""Running one crawl from its PostgreSQL state to the end: the frontier, workers, progress.

A run starts from what the crawl's rows say (so a crawl taken over after a crash resumes where
it stopped: URLs still ``discovered`` are fetched, the others are not fetched again), fetches with
a few workers, parses in worker processes (:mod:`.parsing`), publishes each new or changed page
to ``page.parsed`` before recording it as fetched, together with the links it found and its row
in the page store (a crash in between re-publishes it; consumers are idempotent), and publishes
``crawl.progress`` every ``progress_interval_s`` while it runs, and once more at the end, with
the latest failed URLs and their reasons.

Every write goes through the run's :class:`~.ledger.CrawlLedger` (group commit: the steps of
the pages in flight share a transaction); what the knowledge base already holds is read once,
into a :class:`~.page_book.PageBook`.

Cancellation: the gateway sets the Redis key :func:`cancel_key` (any value); the run notices within
one progress interval, stops its workers, and ends in state ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ragchat_common.events import (
    RECENT_FAILURES_MAX,
    CrawlFailure,
    CrawlMode,
    CrawlProgress,
    CrawlState,
    ImageRef,
    PageParsed,
    TextBlock,
    page_id_for,
)
from ragchat_common.logs import get_logger
from ragchat_common.ssrf import SsrfPolicy, SsrfRefused
from redis.asyncio import Redis

from ragchat_scraper.crawler.fetcher import HTML_TYPES, PDF_TYPES, Fetched, Outcome, PageFetcher
from ragchat_scraper.crawler.ledger import CrawlLedger
from ragchat_scraper.crawler.page_book import PageBook
from ragchat_scraper.crawler.parsing import ParserCrashed, ParserPool
from ragchat_scraper.crawler.publisher import PagePublisher
from ragchat_scraper.crawler.renderer import JsRenderer, RenderFailed
from ragchat_scraper.domain.content import content_hash
from ragchat_scraper.domain.html import needs_javascript
from ragchat_scraper.domain.scope import CrawlBoundary, InvalidScope
from ragchat_scraper.domain.sitemaps import InvalidSitemap, parse_sitemap
from ragchat_scraper.domain.urls import canonicalize, origin_of
from ragchat_scraper.store.crawl_store import (
    Claim,
    CrawlJob,
    CrawlStep,
    CrawlStore,
    FrontierEntry,
    KnownPage,
    PageOutcome,
    SavedPage,
)
from ragchat_scraper.store.tables import PageStatus

log = get_logger(__name__)

FETCH_FAILURES = {
    Outcome.REFUSED_SSRF: PageStatus.REFUSED_SSRF,
    Outcome.REFUSED_ROBOTS: PageStatus.REFUSED_ROBOTS,
    Outcome.FAILED: PageStatus.FAILED,
    Outcome.SKIPPED: PageStatus.SKIPPED,
}
MAX_SITEMAPS = 500
MAX_SITEMAP_LEVELS = 3


def cancel_key(crawl_id: object) -> str:
    """The Redis key that cancels a crawl when set (by the gateway)."""
    return f"scraper:crawl:{crawl_id}:cancel"


@dataclass(frozen=True)
class RunSettings:
    """How a run behaves."""

    owner: str
    fetchers: int
    render_js_auto: bool
    js_min_text_chars: int
    progress_interval_s: float
    lease_s: float


@dataclass
class CrawlTools:
    """What every run uses; a fetcher is made per run (its robots.txt cache is the crawl's)."""

    store: CrawlStore
    redis: Redis
    publisher: PagePublisher
    renderer: JsRenderer
    parsers: ParserPool
    policy: SsrfPolicy
    new_fetcher: Callable[[], PageFetcher]
    settings: RunSettings


@dataclass
class _Content:
    """What a fetched document contributes to the index."""

    canonical_url: str
    title: str
    description: str = ""
    language: str | None = None
    blocks: list[TextBlock] = field(default_factory=list)
    images: list[ImageRef] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    follow: bool = True
    noindex: bool = False
    rendered: bool = False
    fingerprint: str = ""


class CrawlRun:
    """One crawl, run by this replica while it holds the crawl's lease."""

    def __init__(self, job: CrawlJob, tools: CrawlTools) -> None:
        self.job = job
        self.tools = tools
        self.store = tools.store
        self.ledger = CrawlLedger(tools.store, job)
        self.book = PageBook([])
        self.fetcher = tools.new_fetcher()
        self.settings = tools.settings
        self.counts: Counter[PageStatus] = Counter()
        self.failures: deque[CrawlFailure] = deque(maxlen=RECENT_FAILURES_MAX)
        self.seen: set[str] = set()
        self.out_of_scope: set[str] = set()
        self.ssrf_refusals: dict[str, str | None] = {}
        self.queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.truncated = False
        self.current_url: str | None = None
        self.started = time.monotonic()
        self.processed = 0
        self.boundary: CrawlBoundary | None = None
        self.unread_sitemaps: list[str] = []

    # -- the run -----------------------------------------------------------------------------

    async def run(self) -> CrawlState | None:
        """Run to the end; the final state, or ``None`` when another runner took the crawl."""
        try:
            return await self._run()
        finally:
            await self.ledger.close()

    async def _run(self) -> CrawlState | None:
        whole_hosts = self.job.mode is CrawlMode.SITEMAP
        try:
            self.boundary = CrawlBoundary.build(
                self.job.seeds, self.job.scope, whole_hosts=whole_hosts
            )
        except InvalidScope as exc:
            return await self._finish(CrawlState.FAILED, str(exc))
        await self._load_frontier()
        self.book = PageBook(await self.store.known_pages(self.job.kb_id))
        if self.job.mode is CrawlMode.SITEMAP:
            await self._expand_sitemaps()
        else:
            await self._discover(self.job.seeds, depth=0, check_scope=False)
        if not self.seen:
            return await self._finish(
                CrawlState.FAILED, "; ".join(["no page to crawl", *self.unread_sitemaps])
            )
        cancelled = asyncio.Event()
        lost = asyncio.Event()
        workers = [asyncio.create_task(self._work()) for _ in range(self.settings.fetchers)]
        ticker = asyncio.create_task(self._tick(cancelled, lost))
        drained = asyncio.create_task(self.queue.join())
        stops = [drained, asyncio.create_task(cancelled.wait()), asyncio.create_task(lost.wait())]
        try:
            done, _ = await asyncio.wait([*stops, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task in workers and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in [*workers, ticker, *stops]:
                task.cancel()
            await asyncio.gather(*workers, ticker, *stops, return_exceptions=True)
        if lost.is_set():
            log.warning("crawl taken over by another runner", crawl_id=str(self.job.id))
            return None
        if cancelled.is_set():
            return await self._finish(CrawlState.CANCELLED, "cancelled on request")
        await self._delete_vanished()
        return await self._finish(CrawlState.DONE, "page limit reached" if self.truncated else None)

    async def _load_frontier(self) -> None:
        for record in await self.store.records(self.job.id):
            if record.status is PageStatus.OUT_OF_SCOPE:
                self.out_of_scope.add(record.url)
                continue
            self.seen.add(record.url)
            self.counts[record.status] += 1
            if record.status is PageStatus.DISCOVERED:
                self.queue.put_nowait((record.url, record.depth))
            elif record.status is PageStatus.FAILED:
                self.failures.append(CrawlFailure(url=record.url, reason=record.reason or ""))

    async def _finish(self, state: CrawlState, reason: str | None) -> CrawlState:
        await self.store.finish_crawl(self.job.id, state, reason)
        await self._publish_progress(state)
        log.info(
            "crawl finished",
            crawl_id=str(self.job.id),
            state=state.value,
            reason=reason,
            pages=self.processed,
            seconds=round(time.monotonic() - self.started, 2),
            transactions=self.ledger.groups,
        )
        return state

    async def _tick(self, cancelled: asyncio.Event, lost: asyncio.Event) -> None:
        last_renewal = time.monotonic()
        redis = self.tools.redis
        while True:
            await self._publish_progress(CrawlState.RUNNING)
            if await redis.exists(cancel_key(self.job.id)):
                cancelled.set()
            if time.monotonic() - last_renewal > self.settings.lease_s / 3:
                if not await self.store.renew_lease(
                    self.job.id, self.settings.owner, self.settings.lease_s
                ):
                    lost.set()
                last_renewal = time.monotonic()
            await asyncio.sleep(self.settings.progress_interval_s)

    async def _publish_progress(self, state: CrawlState) -> None:
        counts = self.counts
        elapsed = max(time.monotonic() - self.started, 1e-3)
        settled = sum(counts.values()) - counts[PageStatus.DISCOVERED]
        await self.tools.publisher.progress(
            CrawlProgress(
                crawl_id=self.job.id,
                kb_id=self.job.kb_id,
                tenant_id=self.job.tenant_id,
                state=state,
                discovered=sum(counts.values()),
                fetched=counts[PageStatus.FETCHED] + counts[PageStatus.UNCHANGED],
                failed=counts[PageStatus.FAILED],
                skipped=settled
                - counts[PageStatus.FETCHED]
                - counts[PageStatus.UNCHANGED]
                - counts[PageStatus.FAILED],
                current_url=self.current_url,
                pages_per_second=round(self.processed / elapsed, 2),
                recent_failures=list(self.failures),
            )
        )

    async def _work(self) -> None:
        while True:
            url, depth = await self.queue.get()
            try:
                await self._visit(url, depth)
            except Exception as exc:
                # A page that breaks the parser must not stop the crawl; if even recording the
                # failure fails (the database is down), the run stops and resumes later.
                log.exception("page failed", url=url, crawl_id=str(self.job.id))
                await self._settle(
                    PageOutcome(url, PageStatus.FAILED, reason=f"internal error: {exc!r}")
                )
            finally:
                self.processed += 1
                self.queue.task_done()

    # -- discovery ---------------------------------------------------------------------------

    def _ssrf_refusal(self, url: str) -> str | None:
        """Why the SSRF guard refuses ``url`` from the URL alone, decided once per origin (the
        guard looks at the scheme and a literal address only; connections are checked anyway)."""
        origin = origin_of(url)
        if origin not in self.ssrf_refusals:
            try:
                self.tools.policy.check_url(url)
                self.ssrf_refusals[origin] = None
            except SsrfRefused as exc:
                self.ssrf_refusals[origin] = str(exc)
        return self.ssrf_refusals[origin]

    def _admit(
        self, links: list[str], depth: int, *, check_scope: bool = True
    ) -> list[FrontierEntry]:
        """Decide which new links join the frontier, and which are recorded as refused (links to
        refused addresses, links out of the crawl's scope, with the reason)."""
        assert self.boundary is not None
        entries: list[FrontierEntry] = []
        for link in links:
            if link in self.seen or link in self.out_of_scope:
                continue
            refusal = self._ssrf_refusal(link)
            if refusal is not None:
                self.seen.add(link)
                entries.append(FrontierEntry(link, depth, PageStatus.REFUSED_SSRF, refusal))
                continue
            if check_scope:
                # A link too deep here may be found again on a shorter path: not recorded. What
                # depends on the URL alone (host, path prefix, patterns) is final and recorded.
                if depth > self.boundary.max_depth:
                    continue
                refusal = self.boundary.url_refusal(link)
                if refusal is not None:
                    self.out_of_scope.add(link)
                    reason = f"out of scope: {refusal}"
                    entries.append(FrontierEntry(link, depth, PageStatus.OUT_OF_SCOPE, reason))
                    continue
            if len(self.seen) >= self.boundary.max_pages:
                self.truncated = True
                break
            self.seen.add(link)
            entries.append(FrontierEntry(link, depth, PageStatus.DISCOVERED))
        return entries

    def _admitted(self, entries: list[FrontierEntry], new_urls: frozenset[str]) -> None:
        """Count the entries that were new to the crawl, and queue the pages among them."""
        for entry in entries:
            if entry.url not in new_urls or entry.status is PageStatus.OUT_OF_SCOPE:
                continue
            self.counts[entry.status] += 1
            if entry.status is PageStatus.DISCOVERED:
                self.queue.put_nowait((entry.url, entry.depth))

    async def _discover(self, links: list[str], depth: int, *, check_scope: bool = True) -> None:
        """Admit links to the frontier outside of a page's visit (seeds, sitemaps)."""
        entries = self._admit(links, depth, check_scope=check_scope)
        if entries:
            self._admitted(entries, await self.ledger.write(CrawlStep(frontier=entries)))

    async def _expand_sitemaps(self) -> None:
        """Add the pages listed by the seeds' sitemaps (indexes followed, robots Sitemap: lines)."""
        sources: list[str] = []
        for seed in self.job.seeds:
            path = urlsplit(seed).path.lower()
            if "sitemap" in path or path.endswith((".xml", ".xml.gz", ".txt")):
                sources.append(seed)
            else:
                rules = await self.fetcher.robots.rules_for(seed)
                sources.extend(rules.sitemaps or (f"{origin_of(seed)}/sitemap.xml",))
        pending = [(s, 0) for s in dict.fromkeys(sources)]
        visited: set[str] = set()
        while pending and len(visited) < MAX_SITEMAPS:
            source, level = pending.pop(0)
            if source in visited or level > MAX_SITEMAP_LEVELS:
                continue
            visited.add(source)
            fetched = await self.fetcher.fetch_raw(source)
            if fetched.outcome is not Outcome.OK:
                status = FETCH_FAILURES.get(fetched.outcome, PageStatus.FAILED)
                await self._unread_sitemap(source, status, fetched.reason or fetched.outcome.value)
                continue
            try:
                document = parse_sitemap(fetched.body)
            except InvalidSitemap as exc:
                await self._unread_sitemap(source, PageStatus.FAILED, str(exc))
                continue
            pages = [c for c in (canonicalize(u) for u in document.pages) if c is not None]
            await self._discover(pages, depth=0)
            pending.extend(
                (c, level + 1) for c in (canonicalize(u) for u in document.sitemaps) if c
            )

    async def _unread_sitemap(self, url: str, status: PageStatus, reason: str) -> None:
        """Record a sitemap that could not be read, so the crawl says why its pages are missing."""
        log.warning("sitemap not read", url=url, reason=reason, crawl_id=str(self.job.id))
        self.unread_sitemaps.append(f"sitemap {url} not read: {reason}")
        entry = FrontierEntry(url, 0, status, f"sitemap not read: {reason}")
        if url in await self.ledger.write(CrawlStep(frontier=[entry])):
            self.counts[status] += 1
            if status is PageStatus.FAILED:
                self.failures.append(CrawlFailure(url=url, reason=entry.reason or ""))

    # -- visiting a URL ----------------------------------------------------------------------

    async def _settle(
        self,
        outcome: PageOutcome,
        *,
        frontier: list[FrontierEntry] | None = None,
        saved: SavedPage | None = None,
        touched: str | None = None,
    ) -> None:
        """Commit what a visit found (with other visits' steps), then count and queue it."""
        entries = frontier or []
        step = CrawlStep(frontier=entries, outcome=outcome, saved=saved, touched=touched)
        new_urls = await self.ledger.write(step)
        self.counts[PageStatus.DISCOVERED] -= 1
        self.counts[outcome.status] += 1
        if outcome.status is PageStatus.FAILED:
            self.failures.append(CrawlFailure(url=outcome.url, reason=outcome.reason or ""))
        if saved is not None:
            self.book.saved(saved)
        self._admitted(entries, new_urls)

    async def _visit(self, url: str, depth: int) -> None:
        self.current_url = url
        known = self.book.get(page_id_for(self.job.kb_id, url))
        live = known if known is not None and not known.deleted else None
        fetched = await self.fetcher.fetch(
            url,
            etag=live.etag if live else None,
            last_modified=live.last_modified if live else None,
        )
        if fetched.outcome in FETCH_FAILURES:
            keep = live is not None and fetched.outcome is Outcome.FAILED
            await self._settle(
                PageOutcome(
                    url,
                    FETCH_FAILURES[fetched.outcome],
                    reason=fetched.reason,
                    final_url=fetched.final_url,
                    http_status=fetched.status,
                ),
                touched=live.page_id if keep and live else None,  # not gone: keep it indexed
            )
        elif fetched.outcome is Outcome.GONE:
            if live is not None:
                await self._publish_deletion(live)
            await self._settle(
                PageOutcome(url, PageStatus.GONE, reason=fetched.reason, http_status=fetched.status)
            )
        elif fetched.outcome is Outcome.NOT_MODIFIED and live is not None:
            frontier = (
                self._admit(await self.store.page_links(live.page_id), depth + 1)
                if self.job.mode is CrawlMode.RECURSIVE
                else []
            )
            await self._settle(
                PageOutcome(
                    url,
                    PageStatus.UNCHANGED,
                    reason="not modified (HTTP 304)",
                    page_id=live.page_id,
                    http_status=304,
                ),
                frontier=frontier,
                touched=live.page_id,
            )
        else:
            await self._accept(url, depth, fetched)

    async def _content(self, fetched: Fetched, final_url: str) -> _Content | str:
        """The indexable content of a fetched document, or why there is none."""
        kind = fetched.content_type
        parsers = self.tools.parsers
        try:
            if kind in HTML_TYPES:
                return await self._html_content(fetched, final_url)
            if kind in PDF_TYPES:
                name = urlsplit(final_url).path.rsplit("/", 1)[-1] or final_url
                pdf = await parsers.pdf(fetched.body, name)
                if isinstance(pdf, str):
                    return pdf
                return _Content(
                    final_url,
                    pdf.title,
                    blocks=pdf.blocks,
                    fingerprint=content_hash(pdf.title, pdf.blocks),
                )
        except ParserCrashed as exc:
            return str(exc)
        # An image: recorded as a reference; the embedder fetches and reads it.
        name = urlsplit(final_url).path.rsplit("/", 1)[-1]
        identity = f"{final_url}\n{fetched.etag}\n{fetched.last_modified}\n{fetched.content_length}"
        return _Content(
            final_url,
            name,
            images=[ImageRef(src=final_url, title=name)],
            fingerprint=hashlib.sha256(identity.encode()).hexdigest(),
        )

    async def _html_content(self, fetched: Fetched, final_url: str) -> _Content | str:
        parsers = self.tools.parsers
        parsed = await parsers.html(fetched.body, fetched.charset, final_url)
        rendered = False
        wants_js = self.job.scope.render_js or (
            self.settings.render_js_auto
            and needs_javascript(parsed.page, self.settings.js_min_text_chars)
        )
        if wants_js:
            html = fetched.body.decode(fetched.charset or "utf-8", errors="replace")
            try:
                parsed = await parsers.rendered_html(
                    await self.tools.renderer.render(final_url, html), final_url
                )
                rendered = True
            except RenderFailed as exc:
                if not parsed.page.blocks:
                    return str(exc)
                log.warning("rendering failed, static HTML kept", url=final_url, error=str(exc))
        page = parsed.page
        canonical = page.canonical_url
        same_host = canonical and urlsplit(canonical).netloc == urlsplit(final_url).netloc
        return _Content(
            canonical_url=canonical if canonical and same_host else final_url,
            title=page.title,
            description=page.description,
            language=page.language,
            blocks=page.blocks,
            images=page.images,
            links=page.links,
            follow=not page.nofollow,
            noindex=page.noindex,
            rendered=rendered,
            fingerprint=parsed.fingerprint,
        )

    async def _accept(self, url: str, depth: int, fetched: Fetched) -> None:
        assert self.boundary is not None
        final_url = canonicalize(fetched.final_url) or url

        def outcome(status: PageStatus, **values: str | bool | None) -> PageOutcome:
            return PageOutcome(
                url,
                status,
                final_url=final_url,
                http_status=fetched.status,
                content_type=fetched.content_type,
                **values,  # type: ignore[arg-type]
            )

        if (
            final_url != url
            and self.job.mode is CrawlMode.RECURSIVE
            and self.boundary.refusal(final_url, depth) is not None
        ):
            reason = f"redirected outside the crawl's scope to {final_url}"
            await self._settle(outcome(PageStatus.SKIPPED, reason=reason))
            return
        content = await self._content(fetched, final_url)
        if isinstance(content, str):
            await self._settle(outcome(PageStatus.FAILED, reason=content))
            return
        frontier = (
            self._admit(content.links, depth + 1)
            if self.job.mode is CrawlMode.RECURSIVE and content.follow
            else []
        )
        if content.noindex:
            reason = "page asks not to be indexed (noindex)"
            await self._settle(outcome(PageStatus.SKIPPED, reason=reason), frontier=frontier)
            return
        if not content.blocks and not content.images:
            reason = "no text or images found"
            await self._settle(outcome(PageStatus.SKIPPED, reason=reason), frontier=frontier)
            return
        page_id = page_id_for(self.job.kb_id, content.canonical_url)
        original = await self._original_of(url, page_id, content.fingerprint)
        if original is not None:
            await self._settle(
                outcome(PageStatus.DUPLICATE, reason=original, page_id=page_id), frontier=frontier
            )
            return
        known = self.book.get(page_id)
        saved = SavedPage(
            page_id,
            content.canonical_url,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            content_hash=content.fingerprint,
            links=content.links,
        )
        if known is not None and not known.deleted and known.content_hash == content.fingerprint:
            await self._settle(
                outcome(
                    PageStatus.UNCHANGED,
                    reason="content unchanged",
                    page_id=page_id,
                    content_hash=content.fingerprint,
                ),
                frontier=frontier,
                saved=saved,
            )
            return
        await self.tools.publisher.page(
            PageParsed(
                page_id=page_id,
                crawl_id=self.job.id,
                kb_id=self.job.kb_id,
                tenant_id=self.job.tenant_id,
                url=final_url,
                canonical_url=content.canonical_url,
                content_type=fetched.content_type,
                title=content.title,
                description=content.description,
                language=content.language,
                content_hash=content.fingerprint,
                blocks=content.blocks,
                images=content.images,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
            )
        )
        # Saved in the page store only now that it is published: a crash before this line
        # leaves the URL discovered, and the page is fetched and published again on resume.
        await self._settle(
            outcome(
                PageStatus.FETCHED,
                page_id=page_id,
                content_hash=content.fingerprint,
                rendered=content.rendered,
            ),
            frontier=frontier,
            saved=saved,
        )

    async def _original_of(self, url: str, page_id: str, fingerprint: str) -> str | None:
        """Why ``url`` duplicates another URL of this crawl, or ``None`` when it is the original.

        The first URL of the crawl to claim a page id or a content hash holds it; but a page
        already indexed with this content stays the original on a re-crawl, whichever URL
        the workers happen to reach first, so twins never swap places (and get re-published).
        """
        indexed = self.book.live_with_hash(fingerprint)
        if indexed is not None and indexed.page_id != page_id:
            assert self.boundary is not None
            if any(root.contains(indexed.url) for root in self.boundary.roots):
                return f"same content as {indexed.url}"
        holders = await self.ledger.claim(Claim(url, f"page:{page_id}", f"hash:{fingerprint}"))
        if holders.page != url:
            return f"same page as {holders.page}"
        if holders.content != url:
            return f"same content as {holders.content}"
        return None

    # -- pages that disappeared --------------------------------------------------------------

    async def _publish_deletion(self, page: KnownPage) -> None:
        await self.tools.publisher.page(
            PageParsed(
                page_id=page.page_id,
                crawl_id=self.job.id,
                kb_id=self.job.kb_id,
                tenant_id=self.job.tenant_id,
                url=page.url,
                canonical_url=page.url,
                deleted=True,
            )
        )
        await self.store.mark_deleted(page.page_id, self.job.id)
        self.book.deleted(page.page_id)

    async def _delete_vanished(self) -> None:
        """After a complete re-crawl, delete the pages in its scope that it no longer found."""
        assert self.boundary is not None
        if self.truncated or self.job.mode not in (CrawlMode.RECURSIVE, CrawlMode.SITEMAP):
            return
        for page in await self.store.pages_not_seen_by(self.job):
            if any(root.contains(page.url) for root in self.boundary.roots):
                log.info("page disappeared", url=page.url, crawl_id=str(self.job.id))
                await self._publish_deletion(page)


async def run_crawl(job: CrawlJob, tools: CrawlTools) -> CrawlState | None:
    """Run ``job``; release its lease if this process stops before the end."""
    run = CrawlRun(job, tools)
    try:
        return await run.run()
    except BaseException:
        with contextlib.suppress(Exception):
            await tools.store.release_lease(job.id, tools.settings.owner)
        raise
