"""Retriever settings (environment prefix ``RETRIEVER_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import GrpcServiceSettings, KafkaSettings, OpenSearchSettings


class RetrieverSettings(GrpcServiceSettings):
    """Where the retriever listens, its index and its broker."""

    model_config = SettingsConfigDict(env_prefix="RETRIEVER_", extra="ignore")

    service_name: str = "retriever"
    http_port: int = 8084
    grpc_port: int = 50052
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    opensearch: OpenSearchSettings = Field(default_factory=OpenSearchSettings)
