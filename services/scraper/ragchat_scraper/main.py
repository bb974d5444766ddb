"""Entry point of the scraper: crawls submitted sites and publishes parsed pages."""

from fastapi import FastAPI
from ragchat_common.runtime import ServiceRuntime, serve

from ragchat_scraper.settings import ScraperSettings


def create_app(settings: ScraperSettings) -> FastAPI:
    """The scraper process: page store, politeness state in Redis, and the broker."""
    runtime = ServiceRuntime.create(settings.service_name, settings)
    runtime.use_postgres(settings.postgres)
    runtime.use_redis(settings.redis)
    runtime.use_kafka(settings.kafka)
    return runtime.http_app("ragchat scraper")


def run() -> None:
    """Start the scraper (console script ``ragchat-scraper``)."""
    settings = ScraperSettings()
    serve(create_app(settings), settings)
