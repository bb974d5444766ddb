"""Pure crawling logic: canonical URLs, scope, robots rules, sitemaps, HTML and PDF parsing."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest
from ragchat_common.events import CrawlScope, TextBlock
from ragchat_scraper.domain.content import content_hash
from ragchat_scraper.domain.html import needs_javascript, parse_html
from ragchat_scraper.domain.pdf import UnreadablePdf, parse_pdf
from ragchat_scraper.domain.robots import RobotsRules
from ragchat_scraper.domain.scope import CrawlBoundary, InvalidScope
from ragchat_scraper.domain.sitemaps import InvalidSitemap, parse_sitemap
from ragchat_scraper.domain.urls import canonicalize, resolve_link

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("https://example.com:443/a#frag", "https://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        (
            "http://example.com/p?b=2&a=1&utm_source=x&gclid=1&fbclid=2",
            "http://example.com/p?a=1&b=2",
        ),
        ("http://user:pw@example.com./x", "http://example.com/x"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("mailto:a@example.com", None),
        ("javascript:alert(1)", None),
        ("ftp://example.com/f", None),
        ("", None),
    ],
)
def test_canonical_form(url: str, canonical: str | None) -> None:
    assert canonicalize(url) == canonical


def test_relative_urls_resolve_against_the_base() -> None:
    assert canonicalize("../b/c?x=1#top", "http://h.example/a/d/e") == "http://h.example/a/b/c?x=1"


@pytest.mark.parametrize(
    "href",
    [
        "page.html",
        "../up/page.html#part",
        " sub/ page.html ",
        "/root.html?b=2&a=1&utm_source=x",
        "//other.example/x",
        "https://Other.example:443/y#z",
        "?q=1",
        "#top",
        "",
        "mailto:someone@example.com",
    ],
)
def test_links_resolve_as_canonicalize_does_from_any_page_of_a_directory(href: str) -> None:
    """The memoised resolution (keyed by the page's directory) gives what canonicalize gives,
    for two pages of one directory, one of them with a query holding slashes."""
    for base in ("http://h.example/docs/a.html", "http://h.example/docs/b.html?next=/x/y/"):
        assert resolve_link(href, base) == canonicalize(href, base)


def test_scope_keeps_to_seed_host_and_directory() -> None:
    boundary = CrawlBoundary.build(
        ["https://docs.example/guide/intro.html"],
        CrawlScope(exclude_patterns=[r"/private/"], max_depth=2),
    )
    assert boundary.refusal("https://docs.example/guide/setup", 1) is None
    assert boundary.refusal("https://docs.example/blog/post", 1) is not None
    assert boundary.refusal("https://other.example/guide/x", 1) is not None
    assert (
        boundary.refusal("https://docs.example/guide/private/x", 1) == "matches an exclude pattern"
    )
    assert boundary.refusal("https://docs.example/guide/deep", 3) == "deeper than max depth 2"
    # Without the depth: what the URL alone decides (the verdict recorded for out-of-scope links).
    assert boundary.url_refusal("https://docs.example/guide/deep") is None
    assert boundary.url_refusal("https://other.example/guide/x") == (
        "outside the crawl's hosts and path prefixes"
    )


def test_include_patterns_must_match_and_bad_patterns_are_refused() -> None:
    boundary = CrawlBoundary.build(
        ["https://a.example/"], CrawlScope(include_patterns=[r"\.html$"])
    )
    assert boundary.refusal("https://a.example/x.html", 0) is None
    assert boundary.refusal("https://a.example/x.pdf", 0) == "matches no include pattern"
    with pytest.raises(InvalidScope):
        CrawlBoundary.build(["https://a.example/"], CrawlScope(include_patterns=["("]))


def test_robots_rules_for_our_agent_with_delay_and_sitemaps() -> None:
    rules = RobotsRules.from_text(
        "User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n"
        "User-agent: otherbot\nDisallow: /\n"
        "Sitemap: https://s.example/sitemap.xml\n",
        "ragchat-bot",
    )
    assert rules.allows("https://s.example/public")
    assert not rules.allows("https://s.example/private/page")
    assert rules.crawl_delay() == 2.0
    assert rules.sitemaps == ("https://s.example/sitemap.xml",)


def test_missing_robots_allows_all_and_server_error_allows_none() -> None:
    assert RobotsRules.for_status(404, "bot").allows("https://x.example/a")
    assert not RobotsRules.for_status(503, "bot").allows("https://x.example/a")
    assert not RobotsRules.for_status(None, "bot").allows("https://x.example/a")


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc> https://s.example/a </loc><lastmod>2024-01-01</lastmod></url>
  <url><loc>https://s.example/b</loc></url>
</urlset>"""
INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://s.example/sitemap-1.xml</loc></sitemap>
</sitemapindex>"""


def test_sitemap_urlset_index_gzip_and_text() -> None:
    assert parse_sitemap(URLSET).pages == ("https://s.example/a", "https://s.example/b")
    assert parse_sitemap(INDEX).sitemaps == ("https://s.example/sitemap-1.xml",)
    assert parse_sitemap(gzip.compress(URLSET)).pages[1] == "https://s.example/b"
    assert parse_sitemap(b"https://s.example/t\nnot a url\n").pages == ("https://s.example/t",)


def test_sitemap_refuses_entities_and_foreign_documents() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset>&a;</urlset>'
    with pytest.raises(InvalidSitemap):
        parse_sitemap(bomb)
    with pytest.raises(InvalidSitemap):
        parse_sitemap(b"<html><body>hi</body></html>")


PAGE = """<!doctype html>
<html lang="en-GB"><head>
<title> Installing  Widgets </title>
<meta name="description" content="How to install widgets.">
<link rel="canonical" href="/docs/install?utm_source=feed">
</head><body>
<nav><a href="/docs/">Docs</a> <a href="/blog/">Blog</a></nav>
<div class="cookie-banner">We use cookies</div>
<main>
  <h1>Install</h1>
  <p>Widgets install in <b>two</b> steps.</p>
  <h2>On Linux</h2>
  <p>Run the installer.</p>
  <ul><li>Download it</li><li>Run it</li></ul>
  <figure><img src="img/arch.png" alt="Architecture diagram" title="Arch">
  <figcaption>How widgets fit together</figcaption></figure>
  <h2>On Windows</h2>
  <p>Double-click <a href="setup.html#run">setup</a>.</p>
  <img src="data:image/png;base64,AAAA" alt="inline">
</main>
<footer>Copyright</footer>
<script>track()</script>
</body></html>"""


def test_html_main_text_in_blocks_with_heading_paths() -> None:
    page = parse_html(PAGE, "https://w.example/docs/install.html")
    assert page.title == "Installing Widgets"
    assert page.description == "How to install widgets."
    assert page.language == "en-gb"
    assert page.canonical_url == "https://w.example/docs/install"
    assert page.blocks == [
        TextBlock(heading_path=["Install"], text="Widgets install in two steps."),
        TextBlock(
            heading_path=["Install", "On Linux"],
            text="Run the installer.\n\nDownload it\n\nRun it\n\nHow widgets fit together",
        ),
        TextBlock(heading_path=["Install", "On Windows"], text="Double-click setup."),
    ]
    joined = " ".join(b.text for b in page.blocks)
    assert "cookies" not in joined and "Copyright" not in joined and "Blog" not in joined


def test_html_links_and_images() -> None:
    page = parse_html(PAGE, "https://w.example/docs/install.html")
    assert page.links == [
        "https://w.example/docs/",
        "https://w.example/blog/",
        "https://w.example/docs/setup.html",
    ]
    [image] = page.images
    assert image.src == "https://w.example/docs/img/arch.png"
    assert (image.alt, image.title, image.caption) == (
        "Architecture diagram",
        "Arch",
        "How widgets fit together",
    )
    assert "How widgets fit together" in image.nearby_text


def test_script_shell_needs_javascript_and_a_real_page_does_not() -> None:
    shell = parse_html(
        '<html><body><div id="root"></div><script src="/app.js"></script></body></html>',
        "https://w.example/app",
    )
    assert needs_javascript(shell, min_text_chars=200)
    assert not needs_javascript(parse_html(PAGE, "https://w.example/"), min_text_chars=50)


def test_a_short_static_page_with_scripts_and_navigation_is_not_a_shell() -> None:
    nav = "".join(f'<li><a href="/docs/{n}.html">{n}</a></li>' for n in ("intro", "api", "faq"))
    stub = parse_html(
        f'<html><body><nav><ul>{nav}</ul></nav><a href="/index.html">Home</a>'
        "<main><h1>Uploading</h1><p>This page moved.</p></main>"
        '<script src="/_static/doctools.js"></script></body></html>',
        "https://w.example/docs/uploading.html",
    )
    assert stub.script_count == 1 and stub.text_chars < 200
    assert not needs_javascript(stub, min_text_chars=200)


def test_meta_robots_noindex_nofollow() -> None:
    page = parse_html(
        '<html><head><meta name="robots" content="noindex, nofollow"></head><body>x</body></html>',
        "https://w.example/",
    )
    assert page.noindex and page.nofollow


def test_pdf_text_by_page(make_pdf: Callable[..., bytes]) -> None:
    parsed = parse_pdf(make_pdf("Refunds take five days.", title="Refund policy"), "fallback")
    assert parsed.title == "Refund policy"
    assert parsed.blocks == [
        TextBlock(heading_path=["Refund policy", "Page 1"], text="Refunds take five days.")
    ]
    with pytest.raises(UnreadablePdf):
        parse_pdf(b"%PDF-1.4 garbage", "x")


def test_content_hash_ignores_markup_whitespace_but_not_text() -> None:
    a = content_hash("T", [TextBlock(heading_path=["H"], text="one  two")])
    b = content_hash(" T ", [TextBlock(heading_path=["H"], text="one two")])
    c = content_hash("T", [TextBlock(heading_path=["H"], text="one three")])
    assert a == b != c
