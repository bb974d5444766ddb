"""Which discovered URLs belong to a crawl: hosts and path prefixes of its seeds, patterns, depth.

A recursive crawl stays on the hosts of its seed URLs and under each seed's directory
(``https://x.example/docs/intro.html`` admits ``/docs/...``). Include patterns, when given, must
match; exclude patterns must not. Patterns are regular expressions searched in the canonical URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ragchat_common.events import CrawlScope


class InvalidScope(ValueError):
    """The crawl's scope cannot be applied (for example a malformed pattern)."""


@dataclass(frozen=True)
class ScopeRoot:
    """A host and the path prefix under it that the crawl may visit."""

    host: str
    path_prefix: str

    @classmethod
    def of_seed(cls, url: str) -> ScopeRoot:
        """The root a seed URL opens: its host and the directory of its path."""
        parts = urlsplit(url)
        path = parts.path or "/"
        return cls(parts.netloc, path[: path.rfind("/") + 1] or "/")

    def contains(self, url: str) -> bool:
        """Whether ``url`` is on this host and under this path prefix."""
        parts = urlsplit(url)
        return parts.netloc == self.host and (parts.path or "/").startswith(self.path_prefix)


@dataclass(frozen=True)
class CrawlBoundary:
    """The scope of one crawl, ready to judge URLs."""

    roots: tuple[ScopeRoot, ...]
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    max_depth: int
    max_pages: int

    @classmethod
    def build(
        cls, seeds: list[str], scope: CrawlScope, *, whole_hosts: bool = False
    ) -> CrawlBoundary:
        """The boundary of seeds and scope; ``whole_hosts`` drops the path prefix (sitemaps)."""
        roots = tuple(
            {
                ScopeRoot(urlsplit(s).netloc, "/") if whole_hosts else ScopeRoot.of_seed(s)
                for s in seeds
            }
        )
        try:
            include = tuple(re.compile(p) for p in scope.include_patterns)
            exclude = tuple(re.compile(p) for p in scope.exclude_patterns)
        except re.error as exc:
            raise InvalidScope(f"invalid URL pattern {exc.pattern!r}: {exc}") from exc
        return cls(roots, include, exclude, scope.max_depth, scope.max_pages)

    def refusal(self, url: str, depth: int) -> str | None:
        """Why ``url`` found at ``depth`` is out of scope, or ``None`` when it is in scope."""
        if depth > self.max_depth:
            return f"deeper than max depth {self.max_depth}"
        return self.url_refusal(url)

    def url_refusal(self, url: str) -> str | None:
        """Why ``url`` is out of scope wherever it is found (host, path prefix, patterns)."""
        if not any(root.contains(url) for root in self.roots):
            return "outside the crawl's hosts and path prefixes"
        if self.include and not any(p.search(url) for p in self.include):
            return "matches no include pattern"
        if any(p.search(url) for p in self.exclude):
            return "matches an exclude pattern"
        return None
