"""Polite, bounded, SSRF-guarded fetching of one URL.

Every request goes through the guarded httpx client (``ragchat_common.ssrf``), so the address
connected to is checked on every hop. Redirects are followed here, one hop at a time, so each hop
is also checked against robots.txt. A host's turn (``HostPoliteness``) is taken before every
request, retries included; 429 and 5xx answers and transport errors are retried with exponential
backoff, or after the ``Retry-After`` the server asked for (capped). Bodies are streamed and cut
off at the size limit; content types other than HTML, PDF and images are not downloaded.
"""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import httpx
from ragchat_common.ssrf import SsrfRefused
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from ragchat_scraper.crawler.politeness import HostPoliteness
from ragchat_scraper.domain.robots import RobotsRules
from ragchat_scraper.domain.urls import canonicalize, host_of, origin_of

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPES = frozenset({"application/pdf"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
GONE_STATUSES = frozenset({404, 410})
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: crawlers may ignore robots.txt content past 500 KiB


class Outcome(StrEnum):
    """How a fetch ended."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    GONE = "gone"
    REFUSED_SSRF = "refused_ssrf"
    REFUSED_ROBOTS = "refused_robots"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one fetch."""

    user_agent: str
    max_bytes: int
    max_redirects: int
    max_attempts: int
    max_retry_wait_s: float
    default_delay_s: float
    max_crawl_delay_s: float


@dataclass
class Fetched:
    """The result of fetching a URL (after redirects)."""

    outcome: Outcome
    url: str
    final_url: str
    status: int | None = None
    content_type: str = ""
    charset: str | None = None
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_length: int | None = None
    reason: str | None = None
    location: str | None = None
    redirects: list[str] = field(default_factory=list)


class _Retryable(Exception):
    """A transient failure worth another try, with the wait the server asked for."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after_s = retry_after_s


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if it has one."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def media_type(content_type: str) -> str:
    """``text/html`` from ``text/html; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def charset_of(content_type: str) -> str | None:
    """``utf-8`` from ``text/html; charset=UTF-8``, if the header names one."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return None


class RobotsBook:
    """robots.txt rules per host for one crawl, each fetched once (through the same guard)."""

    def __init__(self, fetcher: PageFetcher) -> None:
        self.fetcher = fetcher
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._refused: dict[str, str] = {}

    async def rules_for(self, url: str) -> RobotsRules:
        """The rules of ``url``'s host, fetching its robots.txt the first time."""
        host = host_of(url)
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            if host not in self._rules:
                self._rules[host] = await self._load(origin_of(url))
            return self._rules[host]

    async def _load(self, origin: str) -> RobotsRules:
        agent = self.fetcher.robots_agent
        result = await self.fetcher.fetch_raw(f"{origin}/robots.txt", max_bytes=ROBOTS_MAX_BYTES)
        if result.outcome is Outcome.REFUSED_SSRF:
            self._refused[host_of(origin)] = result.reason or "refused by the SSRF guard"
        if result.outcome is Outcome.OK and result.status == 200:
            return RobotsRules.from_text(result.body.decode("utf-8", "replace"), agent)
        if result.outcome in (Outcome.GONE, Outcome.FAILED, Outcome.SKIPPED) and result.status:
            return RobotsRules.for_status(result.status, agent)
        return RobotsRules.for_status(None, agent)

    def ssrf_refusal(self, url: str) -> str | None:
        """Why the SSRF guard refused ``url``'s host when its robots.txt was fetched, if it did."""
        return self._refused.get(host_of(url))

    def delay_for(self, url: str, default_s: float, cap_s: float) -> float:
        """Seconds between requests to ``url``'s host: our setting or robots' Crawl-delay."""
        rules = self._rules.get(host_of(url))
        asked = rules.crawl_delay() if rules is not None else None
        return max(default_s, min(asked or 0.0, cap_s))


class PageFetcher:
    """Fetches URLs for a crawl: guarded, polite, retried, bounded."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        politeness: HostPoliteness,
        limits: FetchLimits,
        robots_agent: str,
    ) -> None:
        self.client = client
        self.politeness = politeness
        self.limits = limits
        self.robots_agent = robots_agent
        self.robots = RobotsBook(self)

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """Fetch a page URL, honouring robots.txt on every redirect hop."""
        return await self._follow(url, etag, last_modified, self.limits.max_bytes, robots=True)

    async def fetch_raw(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        """Fetch a URL whatever its type and without robots rules (robots.txt, sitemaps)."""
        return await self._follow(
            url, None, None, max_bytes or self.limits.max_bytes, robots=False, any_type=True
        )

    async def _follow(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        max_bytes: int,
        *,
        robots: bool,
        any_type: bool = False,
    ) -> Fetched:
        current = url
        redirects: list[str] = []
        for hop in range(self.limits.max_redirects + 1):
            rules = await self.robots.rules_for(current) if robots else None
            refusal = self.robots.ssrf_refusal(current) if robots else None
            if refusal is not None:
                return Fetched(
                    Outcome.REFUSED_SSRF, url, current, reason=refusal, redirects=redirects
                )
            if rules is not None and not rules.allows(current):
                return Fetched(
                    Outcome.REFUSED_ROBOTS,
                    url,
                    current,
                    reason=f"robots.txt disallows {current} for {self.robots_agent}",
                    redirects=redirects,
                )
            headers = {"User-Agent": self.limits.user_agent}
            if hop == 0 and etag:
                headers["If-None-Match"] = etag
            if hop == 0 and last_modified:
                headers["If-Modified-Since"] = last_modified
            delay = self.robots.delay_for(
                current, self.limits.default_delay_s, self.limits.max_crawl_delay_s
            )
            result = await self._request(url, current, headers, delay, max_bytes, any_type)
            result.redirects = redirects
            if result.status is None or result.status not in (301, 302, 303, 307, 308):
                return result
            location = canonicalize(result.location or "", current)
            if location is None:
                result.outcome, result.reason = Outcome.FAILED, "redirect without a usable Location"
                return result
            redirects.append(current)
            current = location
        return Fetched(
            Outcome.FAILED,
            url,
            current,
            reason=f"more than {self.limits.max_redirects} redirects",
            redirects=redirects,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, self.limits.max_retry_wait_s)
        backoff = wait_exponential_jitter(multiplier=0.5, max=self.limits.max_retry_wait_s)
        return float(backoff(state))

    async def _request(
        self,
        requested: str,
        url: str,
        headers: dict[str, str],
        delay_s: float,
        max_bytes: int,
        any_type: bool,
    ) -> Fetched:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.limits.max_attempts),
                wait=self._wait,
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    async with self.politeness.turn(host_of(url), delay_s):
                        return await self._once(requested, url, headers, max_bytes, any_type)
        except SsrfRefused as exc:
            return Fetched(Outcome.REFUSED_SSRF, requested, url, reason=str(exc))
        except _Retryable as exc:
            reason = f"{exc.reason} after {self.limits.max_attempts} attempts"
            return Fetched(Outcome.FAILED, requested, url, status=exc.status, reason=reason)
        raise AssertionError("unreachable: AsyncRetrying returns or re-raises")

    async def _once(
        self, requested: str, url: str, headers: dict[str, str], max_bytes: int, any_type: bool
    ) -> Fetched:
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                return await self._read(requested, url, response, max_bytes, any_type)
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc

    async def _read(
        self,
        requested: str,
        url: str,
        response: httpx.Response,
        max_bytes: int,
        any_type: bool,
    ) -> Fetched:
        status = response.status_code
        content_type = response.headers.get("content-type", "")
        kind = media_type(content_type)
        length_header = response.headers.get("content-length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        base = Fetched(
            Outcome.OK,
            requested,
            url,
            status=status,
            content_type=kind,
            charset=charset_of(content_type),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_length=length,
        )
        if status in RETRY_STATUSES:
            raise _Retryable(
                f"HTTP {status}", status, retry_after_seconds(response.headers.get("retry-after"))
            )
        if status in (301, 302, 303, 307, 308):
            base.location = response.headers.get("location", "")
            return base
        if status == 304:
            base.outcome = Outcome.NOT_MODIFIED
            return base
        if status in GONE_STATUSES:
            base.outcome, base.reason = Outcome.GONE, f"HTTP {status}"
            return base
        if status >= 400 or status < 200:
            base.outcome, base.reason = Outcome.FAILED, f"HTTP {status}"
            return base
        if kind.startswith("image/") and not any_type:
            return base  # recorded as an image reference; the embedder fetches the pixels
        if not any_type and kind not in HTML_TYPES and kind not in PDF_TYPES:
            base.outcome = Outcome.SKIPPED
            base.reason = f"content type {kind or 'unknown'} is not indexed"
            return base
        if length is not None and length > max_bytes:
            base.outcome, base.reason = Outcome.SKIPPED, f"larger than {max_bytes} bytes"
            return base
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:
                base.outcome, base.reason = Outcome.SKIPPED, f"larger than {max_bytes} bytes"
                return base
        base.body = bytes(body)
        return base
