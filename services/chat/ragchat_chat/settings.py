"""Chat service settings (environment prefix ``CHAT_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import (
    GrpcServiceSettings,
    KafkaSettings,
    PostgresSettings,
    RedisSettings,
)


class ChatSettings(GrpcServiceSettings):
    """Where the chat service listens, its stores, and the retriever it asks."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    service_name: str = "chat"
    http_port: int = 8085
    grpc_port: int = 50053
    retriever_target: str = "127.0.0.1:50052"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
