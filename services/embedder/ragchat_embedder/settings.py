"""Embedder settings (environment prefix ``EMBEDDER_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import KafkaSettings, ServiceSettings


class EmbedderSettings(ServiceSettings):
    """Where the embedder listens and its broker."""

    model_config = SettingsConfigDict(env_prefix="EMBEDDER_", extra="ignore")

    service_name: str = "embedder"
    http_port: int = 8083
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
