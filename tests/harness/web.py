"""What the browser tests need besides the stack: the built web app and widget, Debian's Chromium
driven by Playwright, a customer's page embedding the widget, and a folder for screenshots.

- :func:`ensure_built`: the web app (``services/gateway/web/dist``) and the widget
  (``services/gateway/web/widget/dist/widget.js``) that the gateway serves, built with npm when
  missing (``make e2e`` always rebuilds them first).
- :func:`launch_chromium`: ``/usr/bin/chromium`` through Playwright (``playwright install``
  downloads browsers from outside the package registries, so it is never used).
- :class:`ShopSite`: a static page of "another company" with the widget's script tag, served on
  127.0.0.1 and reachable under two origins (``http://localhost:P`` and ``http://127.0.0.1:P``),
  so one key can be tried from an allowed origin and from one that is not.
"""

from __future__ import annotations

import html
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from playwright.async_api import Browser, Page, Playwright

from tests.harness.pipeline import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = REPO_ROOT / "services" / "gateway" / "web"
WIDGET_DIR = WEB_DIR / "widget"
BUILT = {WEB_DIR: WEB_DIR / "dist" / "index.html", WIDGET_DIR: WIDGET_DIR / "dist" / "widget.js"}
CHROMIUM = os.environ.get("SCRAPER_CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SCREENSHOTS = Path(
    os.environ.get("RAGCHAT_E2E_SCREENSHOTS", REPO_ROOT / ".local" / "e2e-screenshots")
)


def ensure_built() -> None:
    """Build the web app and the widget with npm where their output is missing."""
    for folder, output in BUILT.items():
        if output.is_file():
            continue
        if not (folder / "node_modules").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, check=True)
        subprocess.run(["npm", "run", "build"], cwd=folder, check=True)
        assert output.is_file(), f"npm run build in {folder} did not write {output}"


async def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless."""
    return await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )


async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``<SCREENSHOTS>/<name>.png`` (Playwright makes the folder)."""
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


# The shop's own CSS is deliberately hostile: if any of it reached the widget, its buttons would
# turn red and its text serif; the shadow root must keep it out.
SHOP_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><title>Widget World shop</title>
<style>
  body {{ font-family: Georgia, serif; background: #fef3c7; margin: 2rem; }}
  button {{ background: rgb(255, 0, 0) !important; font-family: serif !important; }}
</style>
</head>
<body>
<h1>Widget World</h1>
<p>Our shop's own page. The support chat bubble is added by one script tag.</p>
<script src="{gateway}/widget.js" data-key="{key}" data-kb="{kb}"
        data-title="Widget World help"></script>
</body>
</html>
"""


@dataclass
class ShopSite:
    """A customer's page embedding the widget; ``key`` and ``kb_id`` are set once known."""

    gateway_url: str
    key: str = ""
    kb_id: str = ""
    port: int = 0
    _runner: web.AppRunner | None = None

    def origin(self, host: str) -> str:
        """The page's origin under ``host`` (``localhost`` or ``127.0.0.1``)."""
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Serve the page on a free port of 127.0.0.1."""

        async def page(_: web.Request) -> web.Response:
            body = SHOP_PAGE.format(
                gateway=html.escape(self.gateway_url),
                key=html.escape(self.key),
                kb=html.escape(self.kb_id),
            )
            return web.Response(text=body, content_type="text/html")

        app = web.Application()
        app.router.add_get("/", page)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
