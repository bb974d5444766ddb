"""robots.txt rules for our user agent (protego), and what to assume when there is none.

As the robots exclusion protocol (RFC 9309) says: a robots.txt answered with a 4xx status means
no restrictions; a 5xx status or an unreachable server means the whole site is disallowed for now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protego import Protego


@dataclass(frozen=True)
class RobotsRules:
    """What one host's robots.txt allows our user agent to fetch."""

    user_agent: str
    parsed: Protego | None = None
    allow_all: bool = True
    sitemaps: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_text(cls, text: str, user_agent: str) -> RobotsRules:
        """Rules from a robots.txt body."""
        parsed = Protego.parse(text)
        return cls(user_agent, parsed, allow_all=False, sitemaps=tuple(parsed.sitemaps))

    @classmethod
    def for_status(cls, status: int | None, user_agent: str) -> RobotsRules:
        """Rules when robots.txt could not be read: 4xx allows all, 5xx or no answer none."""
        return cls(user_agent, None, allow_all=status is not None and 400 <= status < 500)

    def allows(self, url: str) -> bool:
        """Whether our user agent may fetch ``url``."""
        if self.parsed is None:
            return self.allow_all
        return bool(self.parsed.can_fetch(url, self.user_agent))

    def crawl_delay(self) -> float | None:
        """Seconds to wait between requests to this host, when robots.txt asks for it."""
        if self.parsed is None:
            return None
        delay = self.parsed.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None
