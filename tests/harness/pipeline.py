"""The ingestion pipeline (scraper -> embedder -> retriever) as real processes on real servers.

Each :class:`IngestionPipeline` runs the three services' console scripts with names of its own:
its own topics, consumer groups, chunks index alias, scraper database and HTTP/gRPC ports, so it
neither disturbs a ``make up`` stack on the default names nor is disturbed by it. It submits
crawls as ``UrlSubmitted`` on its own ``url.submitted`` topic (the gateway's job in production)
and reads the outcome where the services keep it: ``crawl.progress``, the scraper's
``crawl_pages`` rows, the consumer groups' committed offsets and the OpenSearch index.

Waits are for conditions (a final progress event, zero consumer lag), each with a generous upper
bound; nothing sleeps in place of checking.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from ragchat_common.events import CrawlProgress, CrawlState, UrlSubmitted
from ragchat_common.settings import (
    KafkaSettings,
    OpenSearchSettings,
    PostgresSettings,
    RedisSettings,
)
from ragchat_common.topics import (
    CHAT_TURN,
    CHUNK_EMBEDDED,
    CRAWL_PROGRESS,
    PAGE_PARSED,
    URL_SUBMITTED,
    TopicSpec,
    ensure_topics,
)

BIN = Path(sys.executable).parent
SERVICES = ("scraper", "embedder", "retriever")
# The whole platform, in start order: a service's gRPC peers start before it.
PLATFORM = ("auth", "scraper", "embedder", "retriever", "chat", "gateway")
GRPC_SERVICES = ("auth", "retriever", "chat")
STACK_OWNER_EMAIL = "owner@stack.test"
# Bounds, not expectations: model loading and Chromium on a busy 2-core machine are slow.
READY_WITHIN_S = 300.0


class PipelineError(AssertionError):
    """A service died or a condition was not reached in time; the message carries its log."""


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(
    what: str, condition: Callable[[], Awaitable[bool]], within_s: float, poll_s: float = 0.5
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not await condition():
        if time.monotonic() > deadline:
            raise PipelineError(f"not reached within {within_s:.0f} s: {what}")
        await asyncio.sleep(poll_s)


@dataclass(frozen=True)
class LagProbe:
    """Consumer lag, read with one consumer and one admin client kept connected: a wait that
    polls it several times a second must not connect twice per poll beside the pipeline it
    measures."""

    consumer: AIOKafkaConsumer
    admin: AIOKafkaAdminClient

    async def caught_up(self, group: str, topic: TopicSpec) -> bool:
        """Whether ``group`` has committed every message of ``topic``."""
        partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        ends = await self.consumer.end_offsets(partitions)
        offsets = await self.admin.list_consumer_group_offsets(group)
        committed = {tp: meta.offset for tp, meta in offsets.items()}
        return all(committed.get(tp, 0) >= end for tp, end in ends.items())


@dataclass(frozen=True)
class PipelineNames:
    """Everything one pipeline names for itself, derived from one unique suffix."""

    suffix: str

    def topic(self, spec: TopicSpec) -> TopicSpec:
        """This pipeline's twin of a platform topic (same partition count)."""
        return TopicSpec(f"e2e.{self.suffix}.{spec.name}", spec.partitions)

    @property
    def submitted(self) -> TopicSpec:
        return self.topic(URL_SUBMITTED)

    @property
    def pages(self) -> TopicSpec:
        return self.topic(PAGE_PARSED)

    @property
    def chunks(self) -> TopicSpec:
        return self.topic(CHUNK_EMBEDDED)

    @property
    def progress(self) -> TopicSpec:
        return self.topic(CRAWL_PROGRESS)

    @property
    def turns(self) -> TopicSpec:
        return self.topic(CHAT_TURN)

    @property
    def all_topics(self) -> tuple[TopicSpec, ...]:
        """Every topic of the pipeline, input topics first."""
        return (self.submitted, self.pages, self.chunks, self.progress, self.turns)

    @property
    def index_alias(self) -> str:
        return f"e2e-{self.suffix}-chunks"

    def group(self, service: str) -> str:
        """The consumer group of ``service``."""
        return f"e2e-{self.suffix}-{service}"


@dataclass(frozen=True)
class Infrastructure:
    """The servers a pipeline runs on (settings objects from the suite's fixtures)."""

    kafka: KafkaSettings
    opensearch: OpenSearchSettings
    postgres: PostgresSettings
    redis: RedisSettings


@dataclass
class ServiceProcess:
    """One service running as its console script, with its log in a file."""

    name: str
    env: dict[str, str]
    http_port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    peak_rss_kb: int = 0

    def start(self) -> None:
        """Start the process (a new session, so a terminal's Ctrl-C goes to pytest only)."""
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [str(BIN / f"ragchat-{self.name}")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        """The end of the service's log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def sample_rss(self) -> None:
        """Remember the process's peak resident memory so far (``VmHWM`` in /proc)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))

    async def wait_ready(self, within_s: float = READY_WITHIN_S) -> None:
        """Wait until ``/readyz`` answers 200; fail at once, with the log, if the process exits."""
        url = f"http://127.0.0.1:{self.http_port}/readyz"

        async def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PipelineError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            try:
                async with httpx.AsyncClient(timeout=3) as client:
                    return (await client.get(url)).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            await wait_for(f"{self.name} ready", ready, within_s)
        except PipelineError as exc:
            raise PipelineError(f"{exc}\n{self.log_tail()}") from None

    def kill_hard(self) -> None:
        """``kill -9``: no drain, no commit, no goodbye."""
        assert self.process is not None
        self.sample_rss()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, within_s: float = 60.0) -> None:
        """SIGTERM (the service drains and commits), SIGKILL if it does not end in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.sample_rss()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=within_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


@dataclass
class IngestionPipeline:
    """Scraper, embedder and retriever on names of their own, and ways to observe them."""

    infra: Infrastructure
    names: PipelineNames
    workdir: Path
    scraper_env: Mapping[str, str] = field(default_factory=dict)
    embedder_env: Mapping[str, str] = field(default_factory=dict)
    retriever_env: Mapping[str, str] = field(default_factory=dict)
    only: tuple[str, ...] = SERVICES
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    # Environment of the services outside ingestion (auth, chat, gateway), by service name.
    platform_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    grpc_ports: dict[str, int] = field(default_factory=dict)
    owner_password: str = field(default_factory=lambda: f"Stack-{uuid4().hex}")

    # -- setting up ------------------------------------------------------------------------

    def _env(
        self, service: str, ports: Mapping[str, int], extra: Mapping[str, str]
    ) -> dict[str, str]:
        infra = self.infra
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka.bootstrap_servers,
            "OPENSEARCH_URL": infra.opensearch.url,
            "POSTGRES_HOST": infra.postgres.host,
            "POSTGRES_PORT": str(infra.postgres.port),
            "POSTGRES_USER": infra.postgres.user,
            "POSTGRES_PASSWORD": infra.postgres.password.get_secret_value(),
            "POSTGRES_DB": infra.postgres.db,
            "REDIS_URL": infra.redis.url,
        }
        names = self.names
        port = ports[service]
        env[f"{service.upper()}_HTTP_PORT"] = str(port)
        scraper_url = f"http://127.0.0.1:{ports.get('scraper', 0)}"
        if service == "scraper":
            env |= {
                "SCRAPER_INPUT_TOPIC": names.submitted.name,
                "SCRAPER_PAGES_TOPIC": names.pages.name,
                "SCRAPER_PROGRESS_TOPIC": names.progress.name,
                "SCRAPER_CONSUMER_GROUP": names.group("scraper"),
                "SCRAPER_SSRF_ALLOW_LIST": "127.0.0.1",
                "SCRAPER_PUBLIC_URL": scraper_url,
            }
        elif service == "embedder":
            env |= {
                "EMBEDDER_INPUT_TOPIC": names.pages.name,
                "EMBEDDER_OUTPUT_TOPIC": names.chunks.name,
                "EMBEDDER_GROUP_ID": names.group("embedder"),
                "EMBEDDER_SSRF_ALLOW_LIST": json.dumps(["127.0.0.1"]),
                # Pages too large for one message are read from this pipeline's scraper.
                "EMBEDDER_SCRAPER_URL": scraper_url,
            }
        elif service == "retriever":
            env |= {
                "RETRIEVER_INDEXER_TOPIC": names.chunks.name,
                "RETRIEVER_INDEXER_GROUP_ID": names.group("retriever"),
                "RETRIEVER_INDEX_ALIAS": names.index_alias,
                "RETRIEVER_GRPC_PORT": str(self.grpc_ports["retriever"]),
            }
        elif service == "auth":
            env |= {
                "AUTH_GRPC_PORT": str(self.grpc_ports["auth"]),
                "AUTH_BOOTSTRAP_EMAIL": STACK_OWNER_EMAIL,
                "AUTH_BOOTSTRAP_PASSWORD": self.owner_password,
            }
        elif service == "chat":
            env |= {
                "CHAT_GRPC_PORT": str(self.grpc_ports["chat"]),
                "CHAT_RETRIEVER_TARGET": self.grpc_target("retriever"),
                "CHAT_TURN_TOPIC": names.turns.name,
            }
        else:
            env |= {
                "GATEWAY_AUTH_TARGET": self.grpc_target("auth"),
                "GATEWAY_RETRIEVER_TARGET": self.grpc_target("retriever"),
                "GATEWAY_CHAT_TARGET": self.grpc_target("chat"),
                "GATEWAY_URL_SUBMITTED_TOPIC": names.submitted.name,
                "GATEWAY_CRAWL_PROGRESS_TOPIC": names.progress.name,
                "GATEWAY_CHAT_TURN_TOPIC": names.turns.name,
                "GATEWAY_CONSUMER_GROUP_PREFIX": names.group("gateway"),
            }
        return env | dict(extra)

    def grpc_target(self, service: str) -> str:
        """``host:port`` of one of this pipeline's gRPC services."""
        return f"127.0.0.1:{self.grpc_ports[service]}"

    @property
    def gateway_url(self) -> str:
        """Base URL of this pipeline's gateway (when it runs one)."""
        return f"http://127.0.0.1:{self.services['gateway'].http_port}"

    @property
    def owner_email(self) -> str:
        """The first owner that this pipeline's auth service created."""
        return STACK_OWNER_EMAIL

    async def create_topics(self) -> None:
        """This pipeline's topics and their dead-letter twins."""
        inputs = self.names.all_topics
        await ensure_topics(
            self.infra.kafka.bootstrap_servers,
            inputs + tuple(t.dead_letter for t in inputs),
            self.infra.kafka.topic_replication_factor,
        )

    async def start(self) -> None:
        """Create the topics, start the services (all three unless ``only`` says fewer) and wait
        until each is ready."""
        await self.create_topics()
        extras = {
            **self.platform_env,
            "scraper": self.scraper_env,
            "embedder": self.embedder_env,
            "retriever": self.retriever_env,
        }
        ports = {name: free_port() for name in self.only}
        self.grpc_ports.update({name: free_port() for name in GRPC_SERVICES})
        for name in self.only:
            env = self._env(name, ports, extras.get(name, {}))
            self.services[name] = ServiceProcess(
                name,
                env,
                int(env[f"{name.upper()}_HTTP_PORT"]),
                self.workdir / f"{self.names.suffix}-{name}.log",
            )
            self.services[name].start()
        for name in self.only:
            await self.services[name].wait_ready()

    async def restart(self, *names: str) -> None:
        """Start stopped or killed services again, on the same ports and names."""
        for name in names:
            self.services[name].start()
        for name in names:
            await self.services[name].wait_ready()

    def kill_hard(self, *names: str) -> None:
        """``kill -9`` the named services."""
        for name in names:
            self.services[name].kill_hard()

    def stop(self) -> None:
        """Stop every service cleanly."""
        for service in self.services.values():
            service.stop()

    def sample_rss(self) -> None:
        """Update every service's peak resident memory."""
        for service in self.services.values():
            service.sample_rss()

    def logs(self) -> str:
        """The end of every service's log."""
        return "\n".join(f"--- {s.name} ---\n{s.log_tail()}" for s in self.services.values())

    # -- crawls ----------------------------------------------------------------------------

    async def submit(self, event: UrlSubmitted) -> None:
        """Publish a crawl request, keyed by knowledge base like the gateway does."""
        producer = AIOKafkaProducer(bootstrap_servers=self.infra.kafka.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(
                self.names.submitted.name,
                event.model_dump_json().encode(),
                key=str(event.kb_id).encode(),
            )
        finally:
            await producer.stop()

    async def crawl_end(
        self,
        crawl_id: UUID,
        within_s: float,
        on_progress: Callable[[CrawlProgress], None] | None = None,
    ) -> CrawlProgress:
        """The crawl's final progress event (any state but queued/running)."""
        reader = AIOKafkaConsumer(
            self.names.progress.name,
            bootstrap_servers=self.infra.kafka.bootstrap_servers,
            auto_offset_reset="earliest",
        )
        await reader.start()
        deadline = time.monotonic() + within_s
        try:
            while time.monotonic() < deadline:
                self.sample_rss()
                batch = await reader.getmany(timeout_ms=500)
                for record in (r for rs in batch.values() for r in rs):
                    progress = CrawlProgress.model_validate_json(record.value)
                    if progress.crawl_id != crawl_id:
                        continue
                    if on_progress is not None:
                        on_progress(progress)
                    if progress.state not in (CrawlState.QUEUED, CrawlState.RUNNING):
                        return progress
        finally:
            await reader.stop()
        raise PipelineError(f"crawl {crawl_id} did not end within {within_s:.0f} s\n{self.logs()}")

    async def messages(self, topic: TopicSpec) -> list[bytes]:
        """Every message value of ``topic`` so far, partition by partition."""
        ends = await self._end_offsets(topic)
        reader = AIOKafkaConsumer(bootstrap_servers=self.infra.kafka.bootstrap_servers)
        await reader.start()
        values: list[bytes] = []
        try:
            partitions = [tp for tp, end in ends.items() if end > 0]
            reader.assign(partitions)
            await reader.seek_to_beginning(*partitions)
            for tp in partitions:
                while await reader.position(tp) < ends[tp]:
                    batch = await reader.getmany(tp, timeout_ms=2000)
                    values.extend(record.value for record in batch.get(tp, []))
        finally:
            await reader.stop()
        return values

    async def last_progress(self, crawl_id: UUID) -> CrawlProgress | None:
        """The crawl's latest progress event so far (``None`` before the first)."""
        mine = [
            progress
            for progress in map(
                CrawlProgress.model_validate_json, await self.messages(self.names.progress)
            )
            if progress.crawl_id == crawl_id
        ]
        return max(mine, key=lambda p: p.occurred_at, default=None)

    # -- consumer lag: the index has settled when every stage consumed everything ----------

    async def _end_offsets(self, topic: TopicSpec) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.infra.kafka.bootstrap_servers)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
            return dict(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()

    @asynccontextmanager
    async def _lag_probe(self) -> AsyncIterator[LagProbe]:
        """A :class:`LagProbe` whose clients stay connected while it is open."""
        servers = self.infra.kafka.bootstrap_servers
        probe = LagProbe(
            AIOKafkaConsumer(bootstrap_servers=servers),
            AIOKafkaAdminClient(bootstrap_servers=servers),
        )
        await probe.consumer.start()
        try:
            await probe.admin.start()
            try:
                yield probe
            finally:
                await probe.admin.close()
        finally:
            await probe.consumer.stop()

    async def settle(self, within_s: float) -> None:
        """Wait until the embedder consumed every page and then the retriever every chunk.

        Both commit only after their output is durable (chunks acknowledged by Kafka, chunks
        indexed), so zero lag on both, in that order, means the index holds everything.
        """
        names = self.names
        deadline = time.monotonic() + within_s
        async with self._lag_probe() as lag:

            async def caught_up(service: str, topic: TopicSpec) -> bool:
                self.sample_rss()
                return await lag.caught_up(names.group(service), topic)

            try:
                await wait_for(
                    "embedder consumed every page",
                    lambda: caught_up("embedder", names.pages),
                    within_s,
                    poll_s=0.2,
                )
                # Short polls: the bench times the pipeline up to the moment this returns.
                await wait_for(
                    "retriever indexed every chunk",
                    lambda: caught_up("retriever", names.chunks),
                    max(deadline - time.monotonic(), 1.0),
                    poll_s=0.2,
                )
            except PipelineError as exc:
                raise PipelineError(f"{exc}\n{self.logs()}") from None
        await self.refresh()

    async def time_span(self, topic: TopicSpec) -> tuple[float, float] | None:
        """Wall-clock times (s) of the first and the last message of ``topic``; ``None`` if empty.

        Kafka stamps each record with its producer's clock (this machine's), so these compare
        with :func:`time.time`.
        """
        ends = await self._end_offsets(topic)
        reader = AIOKafkaConsumer(bootstrap_servers=self.infra.kafka.bootstrap_servers)
        await reader.start()
        stamps: list[int] = []
        try:
            for tp, end in ends.items():
                if end == 0:
                    continue
                reader.assign([tp])
                for offset in (await reader.beginning_offsets([tp]))[tp], end - 1:
                    reader.seek(tp, offset)
                    stamps.append((await reader.getone(tp)).timestamp)
        finally:
            await reader.stop()
        return (min(stamps) / 1000, max(stamps) / 1000) if stamps else None

    async def message_count(self, topic: TopicSpec) -> int:
        """Messages ever written to ``topic`` (the sum of its partitions' end offsets)."""
        return sum((await self._end_offsets(topic)).values())

    async def dead_letters(self) -> dict[str, int]:
        """How many messages each stage dead-lettered."""
        names = self.names
        return {
            t.dead_letter.name: await self.message_count(t.dead_letter)
            for t in (names.submitted, names.pages, names.chunks)
        }

    # -- what the services recorded --------------------------------------------------------

    async def refresh(self) -> None:
        """Make every indexed chunk visible to search."""
        async with httpx.AsyncClient(base_url=self.infra.opensearch.url, timeout=60) as client:
            (await client.post(f"/{self.names.index_alias}/_refresh")).raise_for_status()

    async def indexed_count(self, kb_id: UUID) -> int:
        """Chunks of ``kb_id`` searchable now (without forcing a refresh)."""
        body = {"query": {"term": {"kb_id": str(kb_id)}}}
        async with httpx.AsyncClient(base_url=self.infra.opensearch.url, timeout=30) as client:
            reply = await client.post(f"/{self.names.index_alias}/_count", json=body)
        return int(reply.json()["count"]) if reply.status_code == 200 else 0

    async def indexed_chunks(self, kb_id: UUID) -> list[dict[str, Any]]:
        """Every chunk of ``kb_id`` in the index (``_source`` without vectors), via a scroll."""
        body = {
            "query": {"term": {"kb_id": str(kb_id)}},
            "size": 1000,
            "sort": ["_doc"],
            "_source": {"excludes": ["vector", "image_vector"]},
        }
        found: list[dict[str, Any]] = []
        async with httpx.AsyncClient(base_url=self.infra.opensearch.url, timeout=60) as client:
            reply = await client.post(
                f"/{self.names.index_alias}/_search", params={"scroll": "1m"}, json=body
            )
            reply.raise_for_status()
            page = reply.json()
            while page["hits"]["hits"]:
                found.extend({"_id": h["_id"], **h["_source"]} for h in page["hits"]["hits"])
                reply = await client.post(
                    "/_search/scroll", json={"scroll": "1m", "scroll_id": page["_scroll_id"]}
                )
                reply.raise_for_status()
                page = reply.json()
            await client.request(
                "DELETE", "/_search/scroll", json={"scroll_id": page["_scroll_id"]}
            )
        return found

    async def crawl_pages(self, crawl_id: UUID) -> dict[str, asyncpg.Record]:
        """The scraper's ``crawl_pages`` rows of a crawl, by URL."""
        connection = await _admin_connection(self.infra.postgres)
        try:
            rows = await connection.fetch(
                "SELECT url, status, reason, page_id, final_url, rendered, content_type"
                " FROM scraper.crawl_pages WHERE crawl_id = $1",
                crawl_id,
            )
        finally:
            await connection.close()
        return {row["url"]: row for row in rows}

    async def drop_index(self) -> None:
        """Delete this pipeline's chunks index (its alias goes with it)."""
        async with httpx.AsyncClient(base_url=self.infra.opensearch.url, timeout=60) as client:
            await client.delete(f"/{self.names.index_alias}-v*")

    async def drop_topics(self) -> None:
        """Delete this pipeline's topics."""
        inputs = self.names.all_topics
        admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.kafka.bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics([t.name for t in (*inputs, *(i.dead_letter for i in inputs))])
        finally:
            await admin.close()


async def _admin_connection(postgres: PostgresSettings) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=postgres.host,
        port=postgres.port,
        user=postgres.user,
        password=postgres.password.get_secret_value(),
        database=postgres.db,
    )


@asynccontextmanager
async def running_stack(
    infra: Infrastructure,
    suffix: str,
    workdir: Path,
    *,
    env: Mapping[str, Mapping[str, str]] | None = None,
    only: tuple[str, ...] = PLATFORM,
) -> AsyncIterator[IngestionPipeline]:
    """The whole platform (auth, ingestion, chat, gateway) on names, ports and a database of its
    own, with a first owner (``owner_email`` / ``owner_password``); ``env`` adds settings per
    service name. Everything it made is removed afterwards."""
    extra = env or {}
    async with running_pipeline(
        infra,
        suffix,
        workdir,
        scraper_env=extra.get("scraper"),
        embedder_env=extra.get("embedder"),
        retriever_env=extra.get("retriever"),
        platform_env={k: v for k, v in extra.items() if k not in SERVICES},
        only=only,
    ) as stack:
        yield stack


@asynccontextmanager
async def running_pipeline(
    infra: Infrastructure,
    suffix: str,
    workdir: Path,
    *,
    scraper_env: Mapping[str, str] | None = None,
    embedder_env: Mapping[str, str] | None = None,
    retriever_env: Mapping[str, str] | None = None,
    platform_env: Mapping[str, Mapping[str, str]] | None = None,
    only: tuple[str, ...] = SERVICES,
) -> AsyncIterator[IngestionPipeline]:
    """A started pipeline with a scraper database of its own; everything it made is removed
    afterwards (processes, index, topics, database)."""
    database = f"e2e_{suffix}"
    admin = await _admin_connection(infra.postgres)
    await admin.execute(f'CREATE DATABASE "{database}"')
    pipeline = IngestionPipeline(
        Infrastructure(
            infra.kafka,
            infra.opensearch,
            infra.postgres.model_copy(update={"db": database}),
            infra.redis,
        ),
        PipelineNames(suffix),
        workdir,
        scraper_env or {},
        embedder_env or {},
        retriever_env or {},
        only,
        platform_env=platform_env or {},
    )
    try:
        await pipeline.start()
        yield pipeline
    finally:
        pipeline.stop()
        await pipeline.drop_index()
        await pipeline.drop_topics()
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()
