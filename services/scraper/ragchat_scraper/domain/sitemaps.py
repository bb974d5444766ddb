"""sitemap.xml and sitemap index parsing (sitemaps.org protocol, gzip or plain, or plain text).

A small parser of our own rather than ultimate-sitemap-parser: that library fetches sub-sitemaps
with its own HTTP client (outside our SSRF guard, robots rules and politeness), and parsing from a
string turns every sub-sitemap of an index into an "invalid sitemap" that cannot be followed.
defusedxml refuses entity expansion and external entities, which sitemaps never need.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

GZIP_MAGIC = b"\x1f\x8b"


class InvalidSitemap(ValueError):
    """The document is not a sitemap we can read."""


@dataclass(frozen=True)
class SitemapDocument:
    """What a sitemap lists: page URLs, and for an index, further sitemaps."""

    pages: tuple[str, ...]
    sitemaps: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, max_bytes + 1)
    if len(out) > max_bytes:
        raise InvalidSitemap(f"sitemap larger than {max_bytes} bytes once decompressed")
    return out


def parse_sitemap(body: bytes, max_bytes: int = 50 * 1024 * 1024) -> SitemapDocument:
    """Parse a sitemap, sitemap index or plain-text URL list (gzip-compressed or not)."""
    try:
        data = _gunzip(body, max_bytes) if body.startswith(GZIP_MAGIC) else body
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidSitemap(f"bad gzip data: {exc}") from exc
    stripped = data.lstrip()
    if not stripped.startswith(b"<"):
        lines = (line.strip() for line in data.decode("utf-8", "replace").splitlines())
        return SitemapDocument(tuple(u for u in lines if u.startswith(("http://", "https://"))), ())
    try:
        root = ElementTree.fromstring(stripped)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise InvalidSitemap(f"not well-formed XML: {exc}") from exc
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise InvalidSitemap(f"root element <{kind}> is neither <urlset> nor <sitemapindex>")
    locs = tuple(
        (el.text or "").strip()
        for entry in root
        for el in entry
        if _local(el.tag) == "loc" and (el.text or "").strip()
    )
    return SitemapDocument(locs, ()) if kind == "urlset" else SitemapDocument((), locs)
