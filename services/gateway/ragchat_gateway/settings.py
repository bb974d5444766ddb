"""Gateway settings (environment prefix ``GATEWAY_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings, ServiceSettings


class GatewaySettings(ServiceSettings):
    """Where the gateway listens and the services and stores it talks to."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    http_port: int = 8080
    auth_target: str = "127.0.0.1:50051"
    retriever_target: str = "127.0.0.1:50052"
    chat_target: str = "127.0.0.1:50053"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
