"""JavaScript rendering with Playwright driving Debian's Chromium (never a downloaded browser).

The browser does no networking of its own: every request of the page (the document, scripts,
XHR, images) is intercepted and answered by our SSRF-guarded httpx client, so a script cannot
reach an address the guard refuses, and the document itself is the body the crawler already
fetched (no second request). Chromium is also pointed at a proxy that does not exist, with no
bypass for loopback, so anything that escapes interception (a WebSocket) fails instead of
reaching the network. The browser starts on first use and is shared; each render gets a fresh
context (no cookies or storage carried between pages) with service workers blocked.
"""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import Browser, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError
from ragchat_common.logs import get_logger
from ragchat_common.ssrf import SsrfRefused

log = get_logger(__name__)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}
)


class RenderFailed(Exception):
    """The page could not be rendered (browser missing, page crashed, timeout)."""


class JsRenderer:
    """Renders pages to their final DOM with a shared headless Chromium."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        chromium_path: str,
        user_agent: str,
        timeout_s: float,
        concurrency: int,
    ) -> None:
        self.client = client
        self.chromium_path = chromium_path
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def _ensure_browser(self) -> Browser:
        async with self._start_lock:
            if self._browser is None or not self._browser.is_connected():
                if self._playwright is None:
                    self._playwright = await async_playwright().start()
                self._browser = await self._playwright.chromium.launch(
                    executable_path=self.chromium_path, headless=True, args=CHROMIUM_ARGS
                )
                log.info("chromium started", path=self.chromium_path)
            return self._browser

    async def stop(self) -> None:
        """Close the browser and the Playwright driver."""
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def _answer(self, route: Route, document_url: str, document: str) -> None:
        request = route.request
        if request.url == document_url and request.resource_type == "document":
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)
            return
        try:
            response = await self.client.request(
                request.method,
                request.url,
                headers={
                    "User-Agent": self.user_agent,
                    "Accept": request.headers.get("accept", "*/*"),
                },
                content=request.post_data_buffer,
            )
        except SsrfRefused as exc:
            log.info("render request refused", url=request.url, reason=exc.reason.value)
            await route.abort("blockedbyclient")
            return
        except httpx.HTTPError:
            await route.abort("failed")
            return
        headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
        await route.fulfill(status=response.status_code, headers=headers, body=response.content)

    async def render(self, url: str, html: str) -> str:
        """The DOM of ``url`` after its scripts ran, starting from its fetched ``html``."""
        async with self._slots:
            try:
                browser = await self._ensure_browser()
                context = await browser.new_context(
                    user_agent=self.user_agent, service_workers="block"
                )
            except PlaywrightError as exc:
                raise RenderFailed(f"cannot start Chromium at {self.chromium_path}: {exc}") from exc
            try:
                page = await context.new_page()
                await page.route("**/*", lambda route: self._answer(route, url, html))
                await page.goto(url, wait_until="networkidle", timeout=self.timeout_s * 1000)
                return await page.content()
            except PlaywrightError as exc:
                raise RenderFailed(f"rendering {url} failed: {exc}") from exc
            finally:
                await context.close()
