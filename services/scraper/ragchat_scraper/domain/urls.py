"""Canonical URLs: one spelling per page, so a page is crawled, stored and indexed once.

Two URLs that differ only in ways a server does not see (the fragment) or that only track the
visitor (``utm_*``, ``gclid``, ``fbclid``...), in case (scheme, host), in default ports or in the
order of query parameters are the same page. ``<link rel=canonical>`` is applied by the caller
after parsing, with :func:`canonicalize` on the declared URL.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

HTTP_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PARAMS = frozenset(
    {
        "gclid",
        "gclsrc",
        "dclid",
        "fbclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "matomo_")
_ws = re.compile(r"\s+")


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter only identifies a campaign or a click, not content."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The canonical form of ``url`` (resolved against ``base``), or ``None`` if not http(s).

    Lowercases scheme and host, drops credentials, default ports, the fragment and tracking
    parameters, sorts the query and gives an empty path as ``/``.
    """
    raw = _ws.sub("", url)
    if not raw:
        return None
    absolute = urljoin(base, raw) if base else raw
    try:
        parts = urlsplit(absolute)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in HTTP_SCHEMES or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def resolve_link(href: str, base: str) -> str | None:
    """``canonicalize(href, base)``, memoised: the same links recur on every page of a site.

    A link that is not only a query or a fragment resolves against the directory of ``base``
    alone (RFC 3986 merges paths that way), so the cache is keyed by that directory and the
    link, and a site's navigation is resolved once per directory, not once per page.
    """
    raw = _ws.sub("", href)
    if not raw or raw[0] in "?#":
        return canonicalize(raw, base)
    path = base.split("#", 1)[0].split("?", 1)[0]
    return _resolve_in(path[: path.rfind("/") + 1], raw)


@functools.lru_cache(maxsize=65536)
def _resolve_in(directory: str, link: str) -> str | None:
    return canonicalize(link, directory)


def host_of(url: str) -> str:
    """The ``host[:port]`` of a canonical URL: the unit of politeness and robots rules."""
    return urlsplit(url).netloc


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, where its robots.txt lives."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
