"""The web app and the chat widget in a real browser (Debian's Chromium through Playwright) against
the whole platform running as processes: auth, scraper, embedder, retriever, chat and gateway on
names of their own (see :func:`tests.harness.pipeline.running_stack`), on real Kafka, OpenSearch,
PostgreSQL and Redis.

One story, told in order, as support staff and a customer's website live it:

1. the first owner signs in, creates a knowledge base and crawls the local widgets site
   (:class:`tests.harness.sites.WidgetsSite`), watching the live progress reach "done";
2. asks a question in the chat, sees the streamed answer cite the page that holds it, rates the
   answer and finds the rating in analytics;
3. creates a widget key whose only allowed origin is a shop page on another local origin
   (:class:`tests.harness.web.ShopSite` at ``http://localhost:P``): the widget there answers with
   the same citation, and the same page opened as ``http://127.0.0.1:P`` is refused.

Every main screen is saved as a PNG under ``.local/e2e-screenshots/`` (git-ignored).
Chat answers with the extractive provider: the test is about the product's screens and wiring,
and it gives the same answer every run without a model's minutes on a shared CPU.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_stack
from tests.harness.sites import WidgetsSite
from tests.harness.web import ShopSite, ensure_built, launch_chromium, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

# Bounds, not expectations (a busy 2-core machine, models loading, OCR of the site's image).
CRAWL_DONE_MS = 300_000
SETTLE_WITHIN_S = 300.0
ANSWER_MS = 120_000
UI_MS = 30_000

QUESTION = "How many days do I have to send a widget back?"
RETURNS_PATH = "/moved.html"  # /old-page redirects there; it is the one page about returns
FOLLOW_UP = "Does the widget warranty last two years?"
REFUSED_TEXT = "This chat is not available on this website."


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[WidgetsSite]:
    widgets = WidgetsSite()
    await widgets.start()
    try:
        yield widgets
    finally:
        await widgets.stop()


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[IngestionPipeline]:
    ensure_built()
    suffix = uuid4().hex[:10]
    env = {
        "chat": {"CHAT_PROVIDER": "extractive"},
        # Rate-limit counters of this stack only (every test client is 127.0.0.1).
        "gateway": {"GATEWAY_RATE_LIMIT_KEY_PREFIX": f"ratelimit-{suffix}"},
    }
    async with running_stack(
        infra, suffix, tmp_path_factory.mktemp("web-stack"), env=env
    ) as platform:
        yield platform


@pytest.fixture(scope="module")
async def shop(stack: IngestionPipeline) -> AsyncIterator[ShopSite]:
    page = ShopSite(stack.gateway_url)
    await page.start()
    try:
        yield page
    finally:
        await page.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    # Assertions wait as long as actions do (Playwright's default is 5 s: short for a busy CPU).
    expect.set_options(timeout=UI_MS)
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


async def new_page(browser: Browser) -> tuple[BrowserContext, Page]:
    """A fresh browser profile (no cookies, no storage) at desktop size."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_MS)
    return context, await context.new_page()


async def sign_in(page: Page, stack: IngestionPipeline, shot: str | None = None) -> None:
    """Sign in as the stack's first owner (``shot``: save the filled form under that name)."""
    await page.goto(f"{stack.gateway_url}/login")
    await page.get_by_test_id("signin-email").fill(stack.owner_email)
    await page.get_by_test_id("signin-password").fill(stack.owner_password)
    if shot is not None:
        await screenshot(page, shot)
    await page.get_by_test_id("signin-submit").click()
    await expect(page.get_by_test_id("signout")).to_be_visible()


async def widget_conversation_id(page: Page) -> str | None:
    """The conversation id the widget keeps in this tab's sessionStorage."""
    stored: str | None = await page.evaluate(
        """() => {
            const key = Object.keys(sessionStorage).find((k) => k.startsWith("ragchat-widget:"));
            return key ? JSON.parse(sessionStorage.getItem(key)).conversationId : null;
        }"""
    )
    return stored


def as_int(text: str | None) -> int:
    """A counter as the UI shows it ("1,234" or "12")."""
    digits = re.sub(r"[^\d]", "", text or "")
    return int(digits) if digits else 0


async def test_staff_crawl_ask_rate_and_embed_the_widget(
    stack: IngestionPipeline, site: WidgetsSite, shop: ShopSite, browser: Browser
) -> None:
    context, page = await new_page(browser)
    kb_name = f"Widget World {uuid4().hex[:6]}"

    # -- sign in, create a knowledge base ---------------------------------------------------
    await sign_in(page, stack, shot="01-sign-in")
    await page.get_by_test_id("nav-knowledge-bases").click()
    await page.get_by_test_id("kb-new-name").fill(kb_name)
    await page.get_by_test_id("kb-new-description").fill("The widgets site, for the support chat")
    await page.get_by_test_id("kb-create").click()
    # A new knowledge base opens on its own page.
    await expect(page.get_by_role("heading", name=kb_name)).to_be_visible()
    kb_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    await page.get_by_test_id("nav-knowledge-bases").click()
    await expect(page.get_by_test_id("kb-row").filter(has_text=kb_name)).to_have_attribute(
        "data-kb-id", kb_id
    )
    await screenshot(page, "02-knowledge-bases")
    await (
        page.get_by_test_id("kb-row")
        .filter(has_text=kb_name)
        .get_by_role("link", name=kb_name)
        .click()
    )
    await page.get_by_test_id("kb-new-crawl").click()
    await page.get_by_test_id("crawl-urls").fill(site.url("/"))
    await page.get_by_test_id("crawl-mode").select_option("recursive")
    await page.get_by_test_id("crawl-max-depth").fill("2")
    await page.get_by_test_id("crawl-max-pages").fill("30")
    await screenshot(page, "03-new-crawl")
    await page.get_by_test_id("crawl-submit").click()
    progress = page.get_by_test_id("crawl-progress")
    await expect(progress).to_be_visible()
    # Counters move while it runs (the events stream, with polling as the fallback).
    await expect(page.get_by_test_id("crawl-fetched")).to_have_text(
        re.compile(r"[1-9]"), timeout=CRAWL_DONE_MS
    )
    await screenshot(page, "04-crawl-progress-live")
    await expect(progress).to_have_attribute("data-state", "done", timeout=CRAWL_DONE_MS)
    assert as_int(await page.get_by_test_id("crawl-fetched").text_content()) >= 5
    await screenshot(page, "05-crawl-done")

    # The crawl is done when the scraper has fetched everything; wait for the index to hold it.
    await stack.settle(SETTLE_WITHIN_S)
    await page.goto(f"{stack.gateway_url}/knowledge-bases/{kb_id}")
    await expect(page.get_by_test_id("kb-stat-chunks")).to_have_text(re.compile(r"[1-9]"))
    assert as_int(await page.get_by_test_id("kb-stat-pages").text_content()) >= 5
    await screenshot(page, "06-knowledge-base-detail")

    # -- ask, see the streamed answer cite the returns page, rate it --------------------------
    await page.get_by_test_id("nav-chat").click()
    await page.get_by_test_id("chat-kb-select").select_option(label=kb_name)
    await page.get_by_test_id("chat-input").fill(QUESTION)
    await page.get_by_test_id("chat-send").click()
    answer = page.get_by_test_id("message-assistant").last
    await expect(answer).to_have_attribute("data-streaming", "false", timeout=ANSWER_MS)
    await expect(answer).to_contain_text("thirty days")
    cited = [
        await a.get_attribute("href") for a in await answer.get_by_test_id("citation-link").all()
    ]
    assert site.url(RETURNS_PATH) in cited, cited
    card = answer.get_by_test_id("citation-card").filter(has_text="Returns")
    await expect(card.get_by_role("link")).to_have_attribute("href", site.url(RETURNS_PATH))
    await answer.get_by_test_id("feedback-up").click()
    await expect(answer.get_by_test_id("feedback-thanks")).to_be_visible()
    await screenshot(page, "07-chat-answer-with-citation")

    # -- the rating shows in analytics ----------------------------------------------------------
    await page.get_by_test_id("nav-analytics").click()
    await page.get_by_test_id("analytics-kb-select").select_option(label=kb_name)
    await expect(page.get_by_test_id("analytics-feedback-up")).to_have_text("1")
    await expect(page.get_by_test_id("analytics-conversations")).to_be_visible()
    await screenshot(page, "08-analytics")

    # -- a widget key for the shop's origin ------------------------------------------------------
    allowed = shop.origin("localhost")
    refused = shop.origin("127.0.0.1")
    await page.get_by_test_id("nav-admin").click()
    await expect(page.get_by_test_id("user-row").filter(has_text=stack.owner_email)).to_be_visible()
    await screenshot(page, "09-admin-users")
    await page.goto(f"{stack.gateway_url}/admin/api-keys")
    await page.get_by_test_id("apikey-name").fill("Shop widget")
    await page.get_by_test_id("apikey-kind").select_option("widget")
    await page.get_by_test_id("apikey-origins").fill(allowed)
    await page.get_by_test_id("apikey-kbs").get_by_label(kb_name).check()
    await page.get_by_test_id("apikey-create").click()
    dialog = page.get_by_test_id("apikey-dialog")
    await expect(dialog).to_be_visible()
    key = (await page.get_by_test_id("apikey-secret").text_content() or "").strip()
    assert key, "the new key is shown once"
    await screenshot(page, "10-api-key-shown-once")
    await page.get_by_test_id("apikey-dialog-close").click()
    await expect(page.get_by_test_id("apikey-row").filter(has_text="Shop widget")).to_contain_text(
        allowed
    )
    await page.goto(f"{stack.gateway_url}/admin/audit")
    await expect(page.get_by_test_id("audit-row").first).to_be_visible()
    await screenshot(page, "11-audit-log")
    await context.close()

    # -- the widget on the allowed origin answers, used with the keyboard only -----------------
    shop.key, shop.kb_id = key, kb_id
    context, page = await new_page(browser)
    await page.goto(f"{allowed}/")
    bubble = page.get_by_role("button", name="Open support chat")
    await expect(bubble).to_be_visible()
    # The shop's CSS paints every button red; inside the shadow root it must not reach.
    colour = await bubble.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour != "rgb(255, 0, 0)", colour
    await screenshot(page, "12-widget-closed-on-shop-page")
    await bubble.focus()
    await page.keyboard.press("Enter")
    question = page.get_by_label("Your question")
    await expect(question).to_be_focused()
    await page.keyboard.type(QUESTION)
    await page.keyboard.press("Enter")
    reply = page.locator("#ragchat-widget .message.assistant").last
    sources = reply.get_by_role("list", name="Sources")
    await expect(sources.get_by_role("link").first).to_be_visible(timeout=ANSWER_MS)
    await expect(page.get_by_role("log", name="Conversation")).to_have_attribute(
        "aria-busy", "false"
    )
    await expect(reply).to_contain_text("thirty days")
    hrefs = [await a.get_attribute("href") for a in await sources.get_by_role("link").all()]
    assert site.url(RETURNS_PATH) in hrefs, hrefs
    await screenshot(page, "13-widget-answer-on-allowed-origin")
    # A follow-up, even after the visitor moves to another page of the site, continues the same
    # conversation: the widget keeps its id in sessionStorage and the gateway accepts it.
    first_id = await widget_conversation_id(page)
    assert first_id, "the widget kept the conversation id"
    await page.reload()
    await page.get_by_role("button", name="Open support chat").click()
    await expect(page.locator("#ragchat-widget .message.assistant")).to_have_count(1)
    await page.get_by_label("Your question").fill(FOLLOW_UP)
    await page.keyboard.press("Enter")
    await expect(page.locator("#ragchat-widget .message.assistant")).to_have_count(2)
    await expect(page.get_by_role("log", name="Conversation")).to_have_attribute(
        "aria-busy", "false", timeout=ANSWER_MS
    )
    assert await widget_conversation_id(page) == first_id
    await screenshot(page, "14-widget-follow-up-after-reload")
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect(bubble).to_be_focused()
    await context.close()

    # -- the same key from an origin it does not allow is refused ------------------------------
    context, page = await new_page(browser)
    await page.goto(f"{refused}/")
    await page.get_by_role("button", name="Open support chat").click()
    await page.get_by_label("Your question").fill(QUESTION)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#ragchat-widget .message.assistant.error")).to_have_text(
        REFUSED_TEXT
    )
    await screenshot(page, "15-widget-refused-on-other-origin")
    await context.close()
    # The refusal is the gateway's (403), not only the widget's reading of it.
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        reply_for = {
            origin: await client.post(
                "/api/v1/chat/stream",
                headers={"X-API-Key": key, "Origin": origin},
                json={"message": QUESTION, "kb_ids": [kb_id]},
            )
            for origin in (refused, allowed)
        }
    assert reply_for[refused].status_code == 403, reply_for[refused].text
    assert reply_for[allowed].status_code == 200, reply_for[allowed].text


async def test_chat_reads_well_at_phone_width_in_dark_mode(
    stack: IngestionPipeline, browser: Browser
) -> None:
    """The main screens at 390 px in dark mode: navigation collapses behind the menu button."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True
    )
    context.set_default_timeout(UI_MS)
    page = await context.new_page()
    await sign_in(page, stack)
    await expect(page.get_by_test_id("nav-menu-toggle")).to_be_visible()
    await expect(page.get_by_test_id("nav-analytics")).to_be_hidden()
    await page.get_by_test_id("nav-menu-toggle").click()
    await expect(page.get_by_test_id("nav-analytics")).to_be_visible()
    await screenshot(page, "16-phone-dark-menu")
    await page.goto(f"{stack.gateway_url}/chat")
    await expect(page.get_by_test_id("chat-input")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the chat screen scrolls sideways at phone width ({width} px)"
    await screenshot(page, "17-phone-dark-chat")
    await context.close()
