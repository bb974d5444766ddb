"""Settings shared by every service, loaded from the environment with pydantic-settings.

Infrastructure settings use the same names everywhere (``KAFKA_BOOTSTRAP_SERVERS``, ``POSTGRES_*``,
``REDIS_URL``, ``OPENSEARCH_URL``) so one environment file serves the local scripts,
docker-compose and Helm. Each service adds its own settings under its own prefix
(``GATEWAY_``, ``AUTH_``, ...) by subclassing :class:`ServiceSettings`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Where the Kafka cluster is and how long consumers may take to drain on shutdown."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    graceful_timeout_s: float = 30.0
    # How long a producer waits to fill a batch: messages published meanwhile (a crawl's pages in
    # flight) share one produce request, a fraction of the syscalls and of the broker's work.
    linger_ms: int = 5
    # 1 for a single local broker; 3 on a production cluster.
    topic_replication_factor: int = 1


class PostgresSettings(BaseSettings):
    """Connection to the PostgreSQL server; each service uses its own schema in it."""

    model_config = SettingsConfigDict(env_prefix="POSTGRES_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 15432
    user: str = "ragchat"
    password: SecretStr = SecretStr("ragchat")
    db: str = "ragchat"
    pool_size: int = 5

    def async_url(self) -> str:
        """SQLAlchemy URL for the asyncpg driver."""
        return (
            f"postgresql+asyncpg://{self.user}:{self.password.get_secret_value()}"
            f"@{self.host}:{self.port}/{self.db}"
        )


class RedisSettings(BaseSettings):
    """Connection to Redis."""

    model_config = SettingsConfigDict(env_prefix="REDIS_", extra="ignore")

    url: str = "redis://127.0.0.1:16379/0"


class OpenSearchSettings(BaseSettings):
    """Connection to OpenSearch."""

    model_config = SettingsConfigDict(env_prefix="OPENSEARCH_", extra="ignore")

    url: str = "http://127.0.0.1:19200"


class TelemetrySettings(BaseSettings):
    """Logging and tracing. Tracing export is off unless an OTLP endpoint is set."""

    model_config = SettingsConfigDict(extra="ignore")

    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    otlp_endpoint: str | None = Field(default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")


class ServiceSettings(BaseSettings):
    """Base of every service's settings: where it listens, plus the telemetry settings.

    Subclasses set ``model_config = SettingsConfigDict(env_prefix="<SERVICE>_")`` and add the
    infrastructure they need as fields, for example
    ``kafka: KafkaSettings = Field(default_factory=KafkaSettings)``.
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "ragchat"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # How long start-up waits for each dependency before the process gives up and exits.
    startup_timeout_s: float = 60.0
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)


class GrpcServiceSettings(ServiceSettings):
    """Settings of a service that also serves gRPC (``<SERVICE>_GRPC_HOST``, ``_GRPC_PORT``)."""

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    grpc_grace_s: float = 10.0
