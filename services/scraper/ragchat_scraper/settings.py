"""Scraper settings (environment prefix ``SCRAPER_``)."""

import json
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings, ServiceSettings
from ragchat_common.ssrf import SsrfPolicy
from ragchat_common.topics import CRAWL_PROGRESS, PAGE_PARSED, URL_SUBMITTED


class ScraperSettings(ServiceSettings):
    """Where the scraper listens, the stores it uses, and how politely and safely it crawls."""

    model_config = SettingsConfigDict(env_prefix="SCRAPER_", extra="ignore")

    service_name: str = "scraper"
    http_port: int = 8082
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    # Identity: robots.txt rules are matched against ``robots_agent``.
    user_agent: str = "ragchat-bot/0.1 (+https://ragchat.invalid/bot)"
    robots_agent: str = "ragchat-bot"

    # Concurrency and politeness.
    crawl_slots: int = Field(default=2, ge=1, description="crawls one replica runs at once")
    # Pages of a crawl in flight (fetching, parsing, publishing, recording); requests to one
    # host are still bounded by per_host_concurrency. 32 rather than 8: pages in flight share
    # the ledger's transactions (group commit), 134 instead of 366 for 500 python3-doc pages.
    fetchers_per_crawl: int = Field(default=32, ge=1)
    per_host_concurrency: int = Field(default=2, ge=1)
    per_host_delay_s: float = Field(default=0.0, ge=0)
    max_crawl_delay_s: float = Field(default=30.0, ge=0, description="cap on robots Crawl-delay")

    # Parser processes (HTML and PDF parsing runs off the event loop); 0 parses in the loop.
    parse_processes: int = Field(default=2, ge=0)

    # Fetching limits.
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    max_page_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_attempts: int = Field(default=3, ge=1, description="tries per URL on 429/5xx/timeouts")
    max_retry_wait_s: float = 30.0

    # SSRF guard: on unless switched off. The allow-list admits host names, IPs or CIDRs:
    # SCRAPER_SSRF_ALLOW_LIST=127.0.0.1,10.0.0.0/8 or a JSON list (the embedder's setting has the
    # same shape).
    ssrf_guard: bool = True
    ssrf_allow_list: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # JavaScript rendering with Debian's Chromium through Playwright.
    chromium_path: str = "/usr/bin/chromium"
    render_js_auto: bool = True
    js_min_text_chars: int = 200
    render_timeout_s: float = 20.0
    render_concurrency: int = Field(default=2, ge=1)

    # Topics (defaults are the platform's; tests use their own) and the consumer group.
    input_topic: str = URL_SUBMITTED.name
    pages_topic: str = PAGE_PARSED.name
    progress_topic: str = CRAWL_PROGRESS.name
    consumer_group: str = "scraper"

    # Messages and progress.
    max_message_bytes: int = Field(default=900_000, description="under Kafka's 1 MB default")
    progress_interval_s: float = Field(default=0.5, gt=0, le=1.0)
    lease_s: float = Field(default=30.0, gt=1, description="a dead replica's crawl resumes after")
    public_url: str = Field(
        default="http://127.0.0.1:8082", description="base of body_ref links the embedder follows"
    )

    @field_validator("ssrf_allow_list", mode="before")
    @classmethod
    def _split_allow_list(cls, value: object) -> object:
        """A JSON list, or entries separated by commas."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [entry.strip() for entry in value.split(",") if entry.strip()]
        return value

    def ssrf_policy(self) -> SsrfPolicy:
        """The SSRF guard's policy from these settings."""
        return SsrfPolicy.from_allow_list(self.ssrf_allow_list, enabled=self.ssrf_guard)
