"""Auth service settings (environment prefix ``AUTH_``)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import GrpcServiceSettings, PostgresSettings


class AuthSettings(GrpcServiceSettings):
    """Where the auth service listens and its database."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    service_name: str = "auth"
    http_port: int = 8081
    grpc_port: int = 50051
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
