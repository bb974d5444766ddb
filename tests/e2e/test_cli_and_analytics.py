"""The ``ragchat`` CLI and the analytics API against real auth, retriever, chat and gateway
processes (``running_stack``), each on names of its own.

- CLI (typer's CliRunner, in this process, over HTTP to the stack's gateway): login saves a 0600
  session and refreshes (rotating) the access token when it expires; kb create/list; ask streams
  a cited answer; keys and users; crawl watch follows ``crawl.progress`` from ``/ws/events``.
- Analytics: chat turns (from real asks and published on the stack's ``chat.turn``) are grouped by
  meaning through the retriever's real encoder; feedback given through the conversations API
  counts with its question; an editor who reads kb A gets nothing of kb B.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel
from ragchat_common.events import (
    ChatTurn,
    ChunkEmbedded,
    CrawlProgress,
    CrawlState,
    chunk_id_for,
    page_id_for,
)
from ragchat_gateway.cli.main import app
from typer.testing import CliRunner, Result

from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_stack, wait_for

pytestmark = pytest.mark.e2e

PASSWORD = "Member-password-1"
RESET_TEXT = (
    "To reset your password, open Settings, choose Security and press Reset password. "
    "A reset link is emailed to you and stays valid for one hour."
)
PASSWORD_QUESTIONS = [
    "How do I reset my password?",
    "I forgot my password, how can I change it?",
    "password reset",
]
HOURS_QUESTIONS = ["What are your opening hours?", "When is the store open?"]
REFUND_QUESTIONS = ["Can I get a refund for my order?", "How do I return an item for my money?"]


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[IngestionPipeline]:
    suffix = uuid4().hex[:10]
    async with running_stack(
        infra,
        suffix,
        tmp_path_factory.mktemp("cli"),
        env={"gateway": {"GATEWAY_RATE_LIMIT_KEY_PREFIX": f"ratelimit-{suffix}"}},
        only=("auth", "retriever", "chat", "gateway"),
    ) as running:
        yield running


@dataclass
class Cli:
    """The CLI with a config folder of its own, pointed at the stack's gateway."""

    url: str
    config: Path
    runner: CliRunner

    def __call__(self, *args: str) -> Result:
        result = self.runner.invoke(
            app, [*args], env={"RAGCHAT_URL": self.url, "RAGCHAT_CONFIG_DIR": str(self.config)}
        )
        return result

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, f"ragchat {' '.join(args)}: {result.output}"
        return result.output

    @property
    def session_file(self) -> Path:
        return self.config / "credentials"

    def session(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.session_file.read_text())
        return data


@pytest.fixture(scope="module")
def cli(stack: IngestionPipeline, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The CLI, logged in as the stack's owner."""
    cli = Cli(stack.gateway_url, tmp_path_factory.mktemp("ragchat-config"), CliRunner())
    output = cli.ok("login", "--email", stack.owner_email, "--password", stack.owner_password)
    assert stack.owner_email in output
    return cli


async def publish(stack: IngestionPipeline, topic: str, events: list[BaseModel]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.kafka.bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, event.model_dump_json().encode())
    finally:
        await producer.stop()


async def index_page(stack: IngestionPipeline, kb_id: str, tenant_id: str, text: str) -> str:
    """One chunk of one page of ``kb_id``, through the retriever's own topic; returns its URL."""
    url = f"https://{kb_id[:8]}.example/account/reset"
    page_id = page_id_for(UUID(kb_id), url)
    content_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
    vector = [1.0 / 384**0.5] * 384
    chunk = ChunkEmbedded(
        chunk_id=chunk_id_for(page_id, 0, content_hash),
        page_id=page_id,
        crawl_id=uuid4(),
        kb_id=UUID(kb_id),
        tenant_id=UUID(tenant_id),
        url=url,
        title="Reset your password",
        ordinal=0,
        chunk_count=1,
        text=text,
        content_hash=content_hash,
        language="en",
        vector=vector,
    )
    await publish(stack, stack.names.chunks.name, [chunk])
    return url


async def owner_headers(stack: IngestionPipeline, client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": stack.owner_email, "password": stack.owner_password},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def kb_id_named(cli: Cli, name: str) -> str:
    listed = json.loads(cli.ok("kb", "list", "--json"))
    return next(str(kb["id"]) for kb in listed if kb["name"] == name)


async def test_login_keeps_a_private_session_and_refreshes_it(cli: Cli) -> None:
    assert stat.S_IMODE(cli.session_file.stat().st_mode) == 0o600
    first = cli.session()
    expired = {**first, "access_expires_at": 0}
    cli.session_file.write_text(json.dumps(expired))

    me = json.loads(cli.ok("whoami"))

    assert me["role"] == "owner"
    second = cli.session()
    assert second["refresh_token"] != first["refresh_token"]  # rotated on use
    assert second["access_expires_at"] > 0
    assert stat.S_IMODE(cli.session_file.stat().st_mode) == 0o600


async def test_kb_create_list_and_ask_streams_a_cited_answer(
    stack: IngestionPipeline, cli: Cli
) -> None:
    assert "Created knowledge base" in cli.ok("kb", "create", "Support", "--description", "help")
    kb_id = kb_id_named(cli, "Support")
    tenant_id = json.loads(cli.ok("whoami"))["tenant_id"]
    url = await index_page(stack, kb_id, tenant_id, RESET_TEXT)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        headers = await owner_headers(stack, client)

        async def indexed() -> bool:
            found = await client.post(
                "/api/v1/search",
                json={"query": "reset password", "kb_ids": [kb_id], "mode": "bm25", "k": 3},
                headers=headers,
            )
            return found.status_code == 200 and bool(found.json()["hits"])

        await wait_for("the page indexed", indexed, 120)

    output = cli.ok("ask", "How do I reset my password?", "--kb", "Support")

    assert "Settings" in output and "[1]" in output
    assert "Sources" in output and url in output
    assert "conversation" in output


async def test_keys_and_users_from_the_command_line(cli: Cli) -> None:
    cli.ok("kb", "create", "Keys")
    created = cli.ok(
        "keys", "create", "pipeline", "--kb", "Keys", "--scope", "ingest", "--scope", "read"
    )
    key_id = created.split()[2]
    listed = {k["id"]: k for k in json.loads(cli.ok("keys", "list", "--json"))}
    assert listed[key_id]["scopes"] == ["ingest", "read"] and listed[key_id]["revoked_at"] is None
    assert "Revoked" in cli.ok("keys", "revoke", key_id)
    revoked = {k["id"]: k for k in json.loads(cli.ok("keys", "list", "--json"))}
    assert revoked[key_id]["revoked_at"] is not None

    invited = cli.ok("users", "invite", "grace-cli@example.com", "--role", "viewer")
    assert "Invitation token" in invited
    members = json.loads(cli.ok("users", "list", "--json"))
    assert [m["role"] for m in members] == ["owner"]
    refused = cli("users", "role", str(uuid4()), "editor")
    assert refused.exit_code == 1 and "HTTP 404" in refused.output


async def test_crawl_watch_follows_live_progress_until_done(
    stack: IngestionPipeline, cli: Cli
) -> None:
    cli.ok("kb", "create", "Crawled")
    submitted = cli.ok(
        "crawl", "submit", "https://crawled.example/", "--kb", "Crawled", "--max-pages", "5"
    )
    crawl_id = submitted.split()[1]
    kb_id = kb_id_named(cli, "Crawled")
    tenant_id = json.loads(cli.ok("whoami"))["tenant_id"]
    watching = asyncio.create_task(asyncio.to_thread(cli, "crawl", "watch", crawl_id))

    def progress(state: CrawlState, fetched: int) -> CrawlProgress:
        return CrawlProgress(
            crawl_id=UUID(crawl_id),
            kb_id=UUID(kb_id),
            tenant_id=UUID(tenant_id),
            state=state,
            discovered=5,
            fetched=fetched,
            current_url=f"https://crawled.example/{fetched}",
        )

    # Progress keeps coming (as the scraper's once a second) until the watcher has seen the end.
    fetched = 0
    while not watching.done():
        fetched = min(fetched + 1, 5)
        state = CrawlState.DONE if fetched == 5 else CrawlState.RUNNING
        await publish(stack, stack.names.progress.name, [progress(state, fetched)])
        await asyncio.wait({watching}, timeout=1.0)
    result = watching.result()

    assert result.exit_code == 0, result.output
    assert f"Crawl {crawl_id} done: 5 fetched, 0 failed" in result.output


async def test_feedback_on_an_answer_counts_in_analytics(
    stack: IngestionPipeline, cli: Cli
) -> None:
    cli.ok("kb", "create", "Rated")
    kb_id = kb_id_named(cli, "Rated")
    asked = cli.ok("ask", "Where is the pricing page?", "--kb", "Rated")
    conversation_id = asked.split("conversation ")[-1].split()[0]
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        owner = await owner_headers(stack, client)
        conversation = await client.get(f"/api/v1/conversations/{conversation_id}", headers=owner)
        assert conversation.status_code == 200, conversation.text
        answer = next(m for m in conversation.json()["messages"] if m["role"] == "assistant")

        async def turn_counted() -> bool:
            days = await client.get(
                "/api/v1/analytics/conversations-per-day",
                params={"days": 2, "kb_id": kb_id},
                headers=owner,
            )
            return sum(int(p["turns"]) for p in days.json()["points"]) == 1

        await wait_for("the turn in analytics", turn_counted, 120)
        rated = await client.post(
            f"/api/v1/conversations/{conversation_id}/feedback",
            json={"message_id": answer["id"], "rating": "down", "comment": "no pricing page"},
            headers=owner,
        )
        assert rated.status_code == 204, rated.text
        summary = await client.get(
            "/api/v1/analytics/feedback", params={"kb_id": kb_id}, headers=owner
        )

    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert (body["up"], body["down"], body["ratio"]) == (0, 1, 0.0)
    assert [(r["comment"], r["question"]) for r in body["recent"]] == [
        ("no pricing page", "Where is the pricing page?")
    ]


def turn(tenant_id: str, kb_id: str, question: str, declined: bool = False) -> ChatTurn:
    return ChatTurn(
        turn_id=uuid4(),
        conversation_id=uuid4(),
        tenant_id=UUID(tenant_id),
        kb_ids=[UUID(kb_id)],
        principal="widget",
        question=question,
        answer_chars=0 if declined else 80,
        total_ms=900.0,
        first_token_ms=150.0,
        provider="extractive",
        declined=declined,
    )


async def test_analytics_group_by_meaning_and_show_nothing_of_other_kbs(
    stack: IngestionPipeline, cli: Cli
) -> None:
    cli.ok("kb", "create", "Shop A")
    cli.ok("kb", "create", "Shop B")
    kb_a, kb_b = kb_id_named(cli, "Shop A"), kb_id_named(cli, "Shop B")
    tenant_id = json.loads(cli.ok("whoami"))["tenant_id"]
    turns = [
        *(turn(tenant_id, kb_a, q) for q in PASSWORD_QUESTIONS),
        *(turn(tenant_id, kb_a, q, declined=True) for q in HOURS_QUESTIONS),
        *(turn(tenant_id, kb_b, q) for q in REFUND_QUESTIONS),
    ]
    await publish(stack, stack.names.turns.name, list(turns))

    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        owner = await owner_headers(stack, client)

        async def counted(kb_id: str) -> int:
            days = await client.get(
                "/api/v1/analytics/conversations-per-day",
                params={"days": 2, "kb_id": kb_id},
                headers=owner,
            )
            assert days.status_code == 200, days.text
            return sum(int(point["turns"]) for point in days.json()["points"])

        async def all_counted() -> bool:
            return await counted(kb_a) == 5 and await counted(kb_b) == 2

        await wait_for("the turns in analytics", all_counted, 120)
        top = await client.get(
            "/api/v1/analytics/top-questions", params={"kb_id": kb_a}, headers=owner
        )
        gaps = await client.get(
            "/api/v1/analytics/knowledge-gaps", params={"kb_id": kb_a}, headers=owner
        )
        latency = await client.get("/api/v1/analytics/latency", headers=owner)

        invited = await client.post(
            "/api/v1/invitations",
            json={"email": "ed-a@example.com", "role": "editor"},
            headers=owner,
        )
        accepted = await client.post(
            "/api/v1/auth/invitations/accept",
            json={"token": invited.json()["token"], "password": PASSWORD},
        )
        editor_id = accepted.json()["user"]["id"]
        granted = await client.put(
            f"/api/v1/users/{editor_id}/grants", json={"kb_ids": [kb_a]}, headers=owner
        )
        assert granted.status_code == 200, granted.text
        login = await client.post(
            "/api/v1/auth/login", json={"email": "ed-a@example.com", "password": PASSWORD}
        )
        editor = {"Authorization": f"Bearer {login.json()['access_token']}"}
        editor_top = await client.get("/api/v1/analytics/top-questions", headers=editor)
        editor_b = await client.get(
            "/api/v1/analytics/top-questions", params={"kb_id": kb_b}, headers=editor
        )

    assert top.status_code == 200, top.text
    assert top.json()["grouping"] == "meaning"
    groups = top.json()["groups"]
    assert sorted(sorted(g["examples"]) for g in groups) == sorted(
        [sorted(PASSWORD_QUESTIONS), sorted(HOURS_QUESTIONS)]
    )
    assert groups[0]["count"] == 3
    assert [(g["count"], sorted(g["examples"])) for g in gaps.json()["groups"]] == [
        (2, sorted(HOURS_QUESTIONS))
    ]
    assert latency.json()["p50_ms"] > 0
    assert editor_top.status_code == 200, editor_top.text
    seen = {q for g in editor_top.json()["groups"] for q in g["examples"]}
    assert seen and not seen & set(REFUND_QUESTIONS)
    assert editor_b.status_code == 404
