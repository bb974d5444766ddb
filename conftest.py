"""Suite-wide fixtures and rules, for the tests beside each service and under ``tests/``.

Every test declares its kind (unit, integration or e2e): ``make test`` selects tests by these
markers, so a test without one would silently never run, and collection fails instead.

Infrastructure endpoints come from the same environment variables the services read (defaults
match ``deploy/local/env.sh``). A server that does not answer is started with the project's own
``deploy/local/infra.sh``, so ``pytest`` alone works on a fresh machine; a server named by an env
var and already running (a ``make up`` stack, a CI service, a remote cluster) is used as it is.
Tests never skip for missing infrastructure: they fail.
"""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from ragchat_common.settings import (
    KafkaSettings,
    OpenSearchSettings,
    PostgresSettings,
    RedisSettings,
)
from ragchat_common.topics import ensure_topics

from tests.harness.kafka import TopicReader
from tests.harness.pipeline import Infrastructure

ROOT = Path(__file__).resolve().parent
INFRA_SCRIPT = ROOT / "deploy" / "local" / "infra.sh"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _ensure(component: str, host: str, port: int) -> None:
    """Start ``component`` with the project's script unless something already listens."""
    if not _answers(host, port):
        subprocess.run([str(INFRA_SCRIPT), "up", component], check=True)


@pytest.fixture(scope="session")
def kafka() -> KafkaSettings:
    settings = KafkaSettings()
    host, port = settings.bootstrap_servers.split(",")[0].rsplit(":", 1)
    _ensure("kafka", host, int(port))
    return settings


@pytest.fixture(scope="session")
def opensearch() -> OpenSearchSettings:
    settings = OpenSearchSettings()
    url = urlparse(settings.url)
    _ensure("opensearch", url.hostname or "127.0.0.1", url.port or 9200)
    return settings


@pytest.fixture(scope="session")
def postgres() -> PostgresSettings:
    settings = PostgresSettings()
    _ensure("postgres", settings.host, settings.port)
    return settings


@pytest.fixture(scope="session")
def redis_settings() -> RedisSettings:
    settings = RedisSettings()
    url = urlparse(settings.url)
    _ensure("redis", url.hostname or "127.0.0.1", url.port or 6379)
    return settings


@pytest.fixture(scope="session")
def infra(
    kafka: KafkaSettings,
    opensearch: OpenSearchSettings,
    postgres: PostgresSettings,
    redis_settings: RedisSettings,
) -> Infrastructure:
    """The four servers together, as the cross-service harness (``tests/harness``) takes them."""
    return Infrastructure(kafka, opensearch, postgres, redis_settings)


@pytest.fixture(scope="session")
async def standard_topics(kafka: KafkaSettings) -> KafkaSettings:
    """Kafka with every topic of the design created, as ``ragchat-topics`` does for ``make up``."""
    await ensure_topics(kafka.bootstrap_servers)
    return kafka


@pytest.fixture(scope="session")
def read_topic(kafka: KafkaSettings) -> TopicReader:
    """``await read_topic(name, until=lambda records: ...)``: a topic's records, read from the
    start until a condition holds (the time bound only stops a broken run from hanging)."""
    return TopicReader(kafka)


@pytest.fixture
def unique() -> str:
    """A short random suffix that keeps one test's topics, indices and databases its own."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def scratch_database(
    postgres: PostgresSettings, unique: str
) -> AsyncIterator[PostgresSettings]:
    """A database created for one test and dropped after it."""
    import asyncpg

    name = f"test_{unique}"
    admin = await asyncpg.connect(
        host=postgres.host,
        port=postgres.port,
        user=postgres.user,
        password=postgres.password.get_secret_value(),
        database=postgres.db,
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.model_copy(update={"db": name})
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


KINDS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [item.nodeid for item in items if not any(item.get_closest_marker(k) for k in KINDS)]
    if unmarked:
        raise pytest.UsageError(f"tests without a unit/integration/e2e marker: {unmarked}")
