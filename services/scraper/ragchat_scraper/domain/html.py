"""HTML to page content with selectolax's lexbor parser.

Main text: the ``<main>``/``<article>``/``role=main`` element when the page has one, else the
body, without navigation, headers, footers, sidebars, forms, scripts and elements whose class or
id names them as boilerplate (menus, cookie banners, breadcrumbs). The text is split into blocks
at headings: each block carries the path of headings above it (``["Install", "On Linux"]``), so a
chunk later knows which section it came from.

Links come from the whole document (navigation is how a crawler finds pages), images from the
main content with their alt text, title, figure caption and the text around them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ragchat_common.events import ImageRef, TextBlock
from selectolax.lexbor import LexborHTMLParser, LexborNode

from ragchat_scraper.domain.urls import canonicalize, resolve_link

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
DROPPED_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "canvas",
        "iframe",
        "form",
        "button",
        "select",
        "nav",
        "header",
        "footer",
        "aside",
        "dialog",
    }
)
DROPPED_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "dialog")
BOILERPLATE_NAMES = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|breadcrumbs?|sidebar|footer|cookie|consent|skip-link|share|social)"
    r"($|[\s_-])",
    re.IGNORECASE,
)
BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "pre",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tr",
        "td",
        "th",
        "figure",
        "figcaption",
        "address",
        "details",
        "summary",
        "hr",
        "br",
    }
)
# Code, whose text is taken whole: syntax highlighting wraps every token of a code block in a
# <span>, and code holds no headings, blocks or page chrome, so walking it node by node only cost
# time (a third of the nodes of a Python docs page).
VERBATIM_TAGS = ("pre", "code", "kbd", "samp")
NEARBY_CHARS = 300
_ws = re.compile(r"[ \t\r\f\v\n]+")
_PARAGRAPH_BREAK = "\x00"


def _clean(text: str) -> str:
    return _ws.sub(" ", text).strip()


@dataclass(frozen=True)
class ParsedHtml:
    """What a page says and links to."""

    title: str
    description: str
    language: str | None
    canonical_url: str | None
    blocks: list[TextBlock]
    links: list[str]
    images: list[ImageRef]
    noindex: bool = False
    nofollow: bool = False
    script_count: int = 0
    text_chars: int = field(default=0)


@dataclass
class _BlockWriter:
    """Collects text under the current heading path, one block per section."""

    headings: list[tuple[int, str]] = field(default_factory=list)
    blocks: list[TextBlock] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        self.end_section()
        self.headings = [(lvl, t) for lvl, t in self.headings if lvl < level] + [(level, text)]

    def text(self, text: str) -> None:
        self.pending.append(text)

    def end_paragraph(self) -> None:
        if not self.pending:
            return
        self.paragraphs.append("".join(self.pending))
        self.pending.clear()

    def end_section(self) -> None:
        self.end_paragraph()
        # Whitespace is collapsed once per section rather than once per paragraph (a docs page
        # has hundreds of short ones): the paragraphs are joined by NUL, which the HTML parser
        # never leaves in text, collapsed together and split again.
        collapsed = _ws.sub(" ", _PARAGRAPH_BREAK.join(self.paragraphs))
        paragraphs = [p for p in (p.strip() for p in collapsed.split(_PARAGRAPH_BREAK)) if p]
        if paragraphs:
            path = [t for _, t in self.headings]
            self.blocks.append(TextBlock(heading_path=path, text="\n\n".join(paragraphs)))
        self.paragraphs = []


def _is_boilerplate(node: LexborNode, tag: str | None = None) -> bool:
    """Navigation, page chrome, hidden elements, scripts: not part of the page's content."""
    if (tag or node.tag) in DROPPED_TAGS:
        return True
    return _has_boilerplate_attributes(node)


def _has_boilerplate_attributes(node: LexborNode) -> bool:
    """Whether an element's role, hidden flags, class or id mark it as page chrome."""
    if not node.attrs:  # cheap, unlike building the attribute dict, and most elements have none
        return False
    attrs = node.attributes
    if (attrs.get("role") or "") in DROPPED_ROLES or "hidden" in attrs:
        return True
    if (attrs.get("aria-hidden") or "") == "true":
        return True
    return _boilerplate_names(attrs.get("class") or "", attrs.get("id") or "")


@functools.lru_cache(maxsize=8192)
def _boilerplate_names(classes: str, ident: str) -> bool:
    """Whether class and id name page chrome (memoised: a site repeats its class names)."""
    return bool(BOILERPLATE_NAMES.search(f"{classes} {ident}"))


def _tag_ids() -> tuple[int, int, dict[int, int], frozenset[int], frozenset[int], frozenset[int]]:
    """lexbor's numbers for the tags the walk tells apart: comparing the number of a node's tag
    is several times cheaper than reading its name (the walk visits every node of every page)."""
    sample = LexborHTMLParser("<p><!--c-->x</p>")
    paragraph = sample.css_first("p")
    assert paragraph is not None
    comment, text = (node.tag_id for node in paragraph.iter(include_text=True))

    def ids(tags: Iterable[str]) -> list[int]:
        return [sample.create_node(tag).tag_id for tag in tags]

    headings = dict(zip(ids(HEADINGS), HEADINGS.values(), strict=True))
    groups = (DROPPED_TAGS, BLOCK_TAGS, VERBATIM_TAGS)
    dropped, blocks, verbatim = (frozenset(ids(tags)) for tags in groups)
    return text, comment, headings, dropped, blocks, verbatim


_TEXT, _COMMENT, _HEADING_IDS, _DROPPED_IDS, _BLOCK_IDS, _VERBATIM_IDS = _tag_ids()


def _walk(node: LexborNode, out: _BlockWriter) -> None:
    # The hottest loop of the crawler (every node of every page): tags are compared by number,
    # names are kept local, and attributes are read only from elements that have some.
    text, end_paragraph = out.text, out.end_paragraph
    for child in node.iter(include_text=True):
        kind = child.tag_id
        if kind == _TEXT:
            text(child.text_content or "")
        elif kind == _COMMENT or kind in _DROPPED_IDS or _has_boilerplate_attributes(child):
            continue
        elif kind in _VERBATIM_IDS:
            if kind in _BLOCK_IDS:
                end_paragraph()
                text(child.text(deep=True))
                end_paragraph()
            else:
                text(child.text(deep=True))
        elif kind in _HEADING_IDS:
            heading = _clean(child.text(separator=" "))
            if heading:
                out.heading(_HEADING_IDS[kind], heading)
        elif kind in _BLOCK_IDS:
            end_paragraph()
            _walk(child, out)
            end_paragraph()
        else:
            _walk(child, out)


def _main_root(tree: LexborHTMLParser) -> LexborNode | None:
    for selector in ("main", "[role=main]", "article"):
        found = tree.css_first(selector)
        if found is not None:
            return found
    return tree.body


def _meta(tree: LexborHTMLParser, *selectors: str) -> str:
    for selector in selectors:
        node = tree.css_first(selector)
        if node is not None and node.attributes.get("content"):
            return _clean(node.attributes.get("content") or "")
    return ""


def _base_url(tree: LexborHTMLParser, url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    return (canonicalize(href, url) or url) if href else url


def _links(tree: LexborHTMLParser, base: str) -> list[str]:
    hrefs: dict[str, None] = {}
    for a in tree.css("a[href], area[href]"):
        attrs = a.attributes
        # Without its fragment, which canonical URLs drop anyway, a link is found in the
        # resolver's memo far more often (docs link to many anchors of the same pages).
        href = (attrs.get("href") or "").split("#", 1)[0]
        if not href or href.startswith(("javascript:", "mailto:", "tel:")):
            continue
        if "nofollow" not in (attrs.get("rel") or "").lower().split():
            hrefs.setdefault(href, None)
    found: dict[str, None] = {}
    for href in hrefs:
        absolute = resolve_link(href, base)
        if absolute is not None:
            found.setdefault(absolute, None)
    return list(found)


def _image_src(img: LexborNode, base: str) -> str | None:
    attrs = img.attributes
    candidates = [attrs.get("src"), attrs.get("data-src")]
    srcset = attrs.get("srcset") or ""
    if srcset:
        candidates.append(srcset.split(",")[0].strip().split(" ")[0])
    for candidate in candidates:
        if candidate and not candidate.startswith("data:"):
            absolute = canonicalize(candidate, base)
            if absolute is not None:
                return absolute
    return None


def _nearby_text(img: LexborNode) -> str:
    """Text of the closest enclosing block that has some, trimmed to a few sentences."""
    node = img.parent
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in BLOCK_TAGS or node.tag in HEADINGS:
            text = _clean(node.text(separator=" "))
            if text:
                return text[:NEARBY_CHARS]
        node = node.parent
    return ""


def _caption(img: LexborNode) -> str:
    node = img.parent
    while node is not None and node.tag not in ("body", "html"):
        if node.tag == "figure":
            caption = node.css_first("figcaption")
            return _clean(caption.text(separator=" ")) if caption is not None else ""
        node = node.parent
    return ""


def _in_boilerplate(node: LexborNode, root: LexborNode) -> bool:
    current: LexborNode | None = node.parent
    while current is not None and current.mem_id != root.mem_id:
        if _is_boilerplate(current):
            return True
        current = current.parent
    return False


def _images(root: LexborNode, base: str) -> list[ImageRef]:
    images: dict[str, ImageRef] = {}
    for img in root.css("img"):
        if _in_boilerplate(img, root):
            continue
        src = _image_src(img, base)
        if src is None or src in images:
            continue
        images[src] = ImageRef(
            src=src,
            alt=_clean(img.attributes.get("alt") or ""),
            title=_clean(img.attributes.get("title") or ""),
            caption=_caption(img),
            nearby_text=_nearby_text(img),
        )
    return list(images.values())


def _robots_directives(tree: LexborHTMLParser) -> set[str]:
    content = _meta(tree, 'meta[name="robots" i]', 'meta[name="ragchat" i]').lower()
    return {d.strip() for d in content.split(",")}


def parse_html(html: str, url: str) -> ParsedHtml:
    """Parse a page fetched from ``url`` (its canonical form) into text blocks, links, images."""
    tree = LexborHTMLParser(html)
    base = _base_url(tree, url)
    title_node = tree.css_first("title")
    title = _clean(title_node.text()) if title_node is not None else ""
    title = title or _meta(tree, 'meta[property="og:title"]')
    html_node = tree.css_first("html")
    lang = (html_node.attributes.get("lang") if html_node is not None else None) or _meta(
        tree, 'meta[http-equiv="content-language" i]'
    )
    canonical_node = tree.css_first('link[rel="canonical" i][href]')
    canonical = (
        canonicalize(canonical_node.attributes.get("href") or "", base)
        if canonical_node is not None
        else None
    )
    links = _links(tree, base)
    script_count = len(tree.css("script"))
    directives = _robots_directives(tree)
    root = _main_root(tree)
    if root is None:
        return ParsedHtml(title, "", None, canonical, [], links, [], script_count=script_count)
    images = _images(root, base)
    writer = _BlockWriter()
    _walk(root, writer)
    writer.end_section()
    return ParsedHtml(
        title=title,
        description=_meta(tree, 'meta[name="description" i]', 'meta[property="og:description"]'),
        language=lang.strip().lower() or None,
        canonical_url=canonical,
        blocks=writer.blocks,
        links=links,
        images=images,
        noindex="noindex" in directives or "none" in directives,
        nofollow="nofollow" in directives or "none" in directives,
        script_count=script_count,
        text_chars=sum(len(b.text) for b in writer.blocks),
    )


SHELL_MAX_LINKS = 3


def needs_javascript(page: ParsedHtml, min_text_chars: int) -> bool:
    """Whether a page looks like a script-driven shell: scripts, little text without them, and
    hardly a link. A short page of a static site (a docs stub, an index of letters) has scripts
    too, but its navigation is in the HTML: rendering it would cost a browser and find nothing."""
    return (
        page.script_count > 0
        and page.text_chars < min_text_chars
        and len(page.links) <= SHELL_MAX_LINKS
    )
