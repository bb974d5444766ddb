"""Scraper settings (environment prefix ``SCRAPER_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings, ServiceSettings


class ScraperSettings(ServiceSettings):
    """Where the scraper listens and the stores it uses."""

    model_config = SettingsConfigDict(env_prefix="SCRAPER_", extra="ignore")

    service_name: str = "scraper"
    http_port: int = 8082
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
