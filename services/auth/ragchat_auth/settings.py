"""Auth service settings (environment prefix ``AUTH_``)."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import GrpcServiceSettings, PostgresSettings


class AuthSettings(GrpcServiceSettings):
    """Where the auth service listens, its database, token lifetimes and the first owner."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", populate_by_name=True)

    service_name: str = "auth"
    http_port: int = 8081
    grpc_port: int = 50051
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)

    access_token_ttl_s: int = Field(default=15 * 60, ge=60)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=300)
    invitation_ttl_s: int = Field(default=7 * 24 * 3600, ge=300)
    # Encrypts the signing keys' private halves in the database. Without it they are stored in
    # clear (a warning is logged): set it everywhere but on a developer's machine.
    key_passphrase: SecretStr | None = None
    # Whether anyone may sign up and create an organisation; otherwise only invitations.
    registration_open: bool = True

    # The first owner, created when the database has no organisation yet. Without a password a
    # random one is generated, logged once and written to $RAGCHAT_LOCAL_DIR when that is set.
    bootstrap_organisation: str = "ragchat"
    bootstrap_email: str = "owner@ragchat.local"
    bootstrap_password: SecretStr | None = None
    local_dir: Path | None = Field(default=None, validation_alias="RAGCHAT_LOCAL_DIR")
