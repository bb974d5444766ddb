"""Websites the ingestion tests and benchmarks crawl, served on 127.0.0.1.

- :class:`WidgetsSite`: a small site made here (aiohttp), with one of each thing a crawler must
  handle: robots.txt disallowing a path and naming a sitemap index, a redirect, two URLs with
  the same content, a page whose text only JavaScript writes, an image with alt text and text
  drawn inside it (for OCR), a link to a private address, a PDF, and a longer page (a handbook of
  numbered rules) that a small message limit makes travel by reference.
- :class:`StaticDirectorySite`: a directory served by ``python3 -m http.server`` (Debian's
  python3-doc HTML, a real site nobody here wrote), with Last-Modified for conditional re-fetches.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiohttp import web
from PIL import Image, ImageDraw, ImageFont

from tests.harness.pipeline import free_port, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON3_DOC_SCRIPT = REPO_ROOT / "deploy" / "local" / "python3-doc.sh"

# What the widgets site says, so tests can assert it came through.
HOME_TEXT = "Widgets are small and useful. Read the guide for details on installing them."
ABOUT_TEXT = "We make widgets that last for decades and we answer every support mail in a day."
MOVED_TEXT = "This page moved here and explains returns: send the widget back within thirty days."
ORPHAN_TEXT = "Only the sitemap links to this page about warranty: two years on every widget."
PRICING_SENTENCE = "The basic plan costs ten euros a month."
PDF_TEXT = "Widgets need no tools to install."
SIGN_ALT = "Sign at our shop door"
SIGN_LINES = ("RETURNS", "WELCOME")  # drawn inside the image: only OCR can read them
PRIVATE_LINK = "http://10.1.2.3/admin"
# A page longer than the others: with a small message limit it travels by reference (body_ref).
HANDBOOK_RULES = tuple(
    f"Rule {n}: widget model W-{n} ships with {n + 2} spare screws and a {n % 7 + 1} year warranty."
    for n in range(1, 121)
)


def sign_png() -> bytes:
    """A shop sign: two words drawn large and black on white, one per line."""
    image = Image.new("RGB", (480, 200), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for row, line in enumerate(SIGN_LINES):
        draw.text((30, 30 + 80 * row), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def one_page_pdf(text: str, title: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica, written byte by byte (no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _html(title: str, body: str) -> str:
    head = f'<html lang="en"><head><title>{title}</title></head>'
    return f"{head}<body><main>{body}</main></body></html>"


@dataclass
class WidgetsSite:
    """The small site; ``hits`` records every path requested, to prove what was never fetched."""

    port: int = 0
    hits: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this site."""
        return f"http://127.0.0.1:{self.port}{path}"

    def _routes(self) -> dict[str, tuple[bytes | str, str]]:
        html = "text/html"
        home = _html(
            "Widgets home",
            f"<h1>Widgets</h1><p>{HOME_TEXT}</p>"
            f'<figure><img src="/img/sign.png" alt="{SIGN_ALT}"></figure>'
            '<ul><li><a href="/about.html">About</a></li>'
            '<li><a href="/copy.html">About (a copy)</a></li>'
            '<li><a href="/old-page">Returns</a></li>'
            '<li><a href="/private/secret.html">Staff only</a></li>'
            '<li><a href="/app.html">Pricing</a></li>'
            '<li><a href="/guide.pdf">Guide</a></li>'
            '<li><a href="/handbook.html">Handbook</a></li>'
            f'<li><a href="{PRIVATE_LINK}">Router</a></li>'
            '<li><a href="/#top">Top</a></li></ul>',
        )
        about = _html("About us", f"<h1>About us</h1><p>{ABOUT_TEXT}</p>")
        sitemap_index = (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{self.url('/sitemap-pages.xml')}</loc></sitemap></sitemapindex>"
        )
        sitemap_pages = (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(
                f"<url><loc>{self.url(p)}</loc></url>"
                for p in ("/about.html", "/orphan.html", "/private/secret.html")
            )
            + "</urlset>"
        )
        app_js = (
            "document.getElementById('root').innerHTML = "
            f"'<h1>Pricing</h1><p>' + '{PRICING_SENTENCE} '.repeat(8) + '</p>';"
        )
        return {
            "/": (home, html),
            "/about.html": (about, html),
            "/copy.html": (about, html),
            "/moved.html": (_html("Returns", f"<h1>Returns</h1><p>{MOVED_TEXT}</p>"), html),
            "/handbook.html": (
                _html(
                    "Handbook", "<h1>Handbook</h1>" + "".join(f"<p>{r}</p>" for r in HANDBOOK_RULES)
                ),
                html,
            ),
            "/orphan.html": (_html("Warranty", f"<h1>Warranty</h1><p>{ORPHAN_TEXT}</p>"), html),
            "/private/secret.html": (_html("Secret", "<p>Staff salaries.</p>"), html),
            "/app.html": (
                '<html><head><title>Pricing</title></head><body><div id="root"></div>'
                '<script src="/app.js"></script></body></html>',
                html,
            ),
            "/app.js": (app_js, "application/javascript"),
            "/guide.pdf": (one_page_pdf(PDF_TEXT, "Guide"), "application/pdf"),
            "/img/sign.png": (sign_png(), "image/png"),
            "/robots.txt": (
                f"User-agent: *\nDisallow: /private/\nSitemap: {self.url('/sitemap.xml')}\n",
                "text/plain",
            ),
            "/sitemap.xml": (sitemap_index, "application/xml"),
            "/sitemap-pages.xml": (sitemap_pages, "application/xml"),
        }

    async def start(self) -> None:
        """Serve the site on a free port of 127.0.0.1."""

        async def handle(request: web.Request) -> web.StreamResponse:
            self.hits.append(request.path)
            if request.path == "/old-page":
                raise web.HTTPMovedPermanently(location="/moved.html")
            routes = self._routes()
            if request.path not in routes:
                return web.Response(status=404, text="not found")
            body, content_type = routes[request.path]
            data = body.encode() if isinstance(body, str) else body
            return web.Response(body=data, content_type=content_type)

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()


def python3_doc_root() -> Path:
    """The python3-doc HTML folder, installed by the project's script when missing."""
    subprocess.run([str(PYTHON3_DOC_SCRIPT), "up"], check=True)
    path = subprocess.run(
        [str(PYTHON3_DOC_SCRIPT), "path"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return Path(path)


@dataclass
class StaticDirectorySite:
    """``python3 -m http.server`` serving a directory on 127.0.0.1."""

    root: Path
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (relative to the served directory, leading slash)."""
        return f"http://127.0.0.1:{self.port}{path}"

    def page_urls(self, *folders: str) -> set[str]:
        """URLs of every HTML file under ``folders`` (all of the site when none is given)."""
        tops = [self.root / f for f in folders] or [self.root]
        return {
            self.url("/" + str(file.relative_to(self.root)))
            for top in tops
            for file in top.rglob("*.html")
        }

    def _launch(self) -> None:
        self.port = free_port()
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                # HTTP/1.1 keeps connections open, as any real site's server does (http.server
                # defaults to HTTP/1.0, a new connection per page).
                [
                    *(sys.executable, "-m", "http.server", str(self.port)),
                    *("--bind", "127.0.0.1", "--protocol", "HTTP/1.1"),
                ],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    async def start(self) -> None:
        """Start the server and wait until it answers."""
        self._launch()

        async def answers() -> bool:
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(self.url("/"))).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_for("python3 -m http.server answering", answers, 30)

    async def stop(self) -> None:
        """Stop the server."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 10)
