"""Settings come from the environment with shared infrastructure names."""

import pytest
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from ragchat_common.settings import KafkaSettings, PostgresSettings, ServiceSettings

pytestmark = pytest.mark.unit


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

    http_port: int = 9000
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)


def test_service_prefix_and_shared_infrastructure_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_HTTP_PORT", "9123")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p@ss%word")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    settings = DemoSettings()
    assert settings.http_port == 9123
    assert settings.kafka.bootstrap_servers == "broker:9092"
    assert settings.telemetry.log_level == "DEBUG"
    assert "p@ss%word" in settings.postgres.async_url()
    assert "p@ss%word" not in repr(settings)
