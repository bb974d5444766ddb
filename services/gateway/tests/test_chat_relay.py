"""The gateway's chat relay (SSE and WebSocket), live events, conversations and rate limits,
through two real gateway apps on real PostgreSQL, Redis and Kafka, with the real auth service and
a scripted ChatService (see ``relay_harness``).

One tenant has knowledge bases A and B, a second tenant has C. The agent may read A only.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from ragchat.v1 import auth_pb2_grpc
from ragchat_common.events import CrawlProgress, CrawlState
from ragchat_common.settings import KafkaSettings, PostgresSettings, RedisSettings
from ragchat_common.topics import CHAT_TURN, CRAWL_PROGRESS, URL_SUBMITTED, TopicSpec, ensure_topics
from ragchat_gateway.domain.event_relay import publish_progress
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.harness.scripted_chat import TOKENS, ScriptedChat, serving_chat

from .relay_harness import (
    Accounts,
    Member,
    gateway_settings,
    running_auth,
    serving_gateway,
    sse_events,
)

pytestmark = pytest.mark.integration

WIDGET_ORIGIN = "https://shop.example.test"
LOGIN_LIMIT = 3


@dataclass
class World:
    """Two gateways on one Redis and Kafka, the accounts, and the scripted chat behind them."""

    url: str
    second_url: str
    chat: ScriptedChat
    accounts: Accounts
    owner: Member
    agent: Member
    other_owner: Member
    kb_a: str
    kb_b: str
    kb_c: str
    widget_key: str
    progress_topic: str
    redis: Redis
    kafka: KafkaSettings


@pytest.fixture(scope="module")
async def relay_database(postgres: PostgresSettings) -> AsyncIterator[PostgresSettings]:
    """A database for this module's auth and gateways."""
    name = f"test_relay_{uuid.uuid4().hex[:10]}"
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


@pytest.fixture(scope="module")
async def world(
    relay_database: PostgresSettings,
    redis_settings: RedisSettings,
    kafka: KafkaSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    suffix = uuid.uuid4().hex[:10]
    topics = tuple(
        TopicSpec(f"{spec.name}.{suffix}", spec.partitions)
        for spec in (CRAWL_PROGRESS, CHAT_TURN, URL_SUBMITTED)
    )
    await ensure_topics(kafka.bootstrap_servers, topics + tuple(t.dead_letter for t in topics))
    workdir: Path = tmp_path_factory.mktemp("relay")
    chat = ScriptedChat()
    redis = Redis.from_url(redis_settings.url, decode_responses=True)
    async with running_auth(relay_database, workdir) as auth_target, serving_chat(chat) as target:
        common: dict[str, Any] = {
            "rate_limit_key_prefix": f"ratelimit-{suffix}",
            "rate_limit_login_ip": f"{LOGIN_LIMIT}/minute",
        }
        first = gateway_settings(
            relay_database, redis_settings, kafka, suffix, auth_target, target, **common
        )
        # The second gateway pings every 2 s, for the heartbeat test (a ping unanswered for 2 s
        # closes the socket: long enough for a busy test machine to answer in time).
        second = gateway_settings(
            relay_database,
            redis_settings,
            kafka,
            suffix,
            auth_target,
            target,
            ws_ping_interval_s=2.0,
            **common,
        )
        async with serving_gateway(first) as url, serving_gateway(second) as second_url:
            channel = grpc.aio.insecure_channel(auth_target)
            accounts = Accounts(auth_pb2_grpc.AuthServiceStub(channel), relay_database)
            owner = await accounts.owner()
            kb_a = await accounts.knowledge_base(owner, "A")
            kb_b = await accounts.knowledge_base(owner, "B")
            other_owner, _ = await accounts.register("Other tenant")
            kb_c = await accounts.knowledge_base(other_owner, "C")
            agent = await accounts.member(owner, "agent", [kb_a])
            widget_key = await accounts.widget_key(owner, [kb_a], [WIDGET_ORIGIN])
            try:
                yield World(
                    url=url,
                    second_url=second_url,
                    chat=chat,
                    accounts=accounts,
                    owner=owner,
                    agent=agent,
                    other_owner=other_owner,
                    kb_a=kb_a,
                    kb_b=kb_b,
                    kb_c=kb_c,
                    widget_key=widget_key,
                    progress_topic=topics[0].name,
                    redis=redis,
                    kafka=kafka,
                )
            finally:
                await channel.close()
                await redis.aclose()


def bearer(member: Member) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.token}"}


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


async def frames_until(socket: ClientConnection, last: set[str]) -> list[dict[str, Any]]:
    """Frames up to and including the first whose type is in ``last``; pings are answered."""
    received: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if frame["type"] == "ping":
            await socket.send(json.dumps({"type": "pong"}))
            continue
        received.append(frame)
        if frame["type"] in last:
            return received


async def authenticated(socket: ClientConnection, member: Member) -> None:
    await socket.send(json.dumps({"type": "auth", "token": member.token}))
    assert (await frames_until(socket, {"ready", "error"}))[-1] == {"type": "ready"}


async def close_code(socket: ClientConnection) -> int | None:
    """The close code the server ends the socket with (frames before it are skipped)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


# --- SSE ----------------------------------------------------------------------------------------


async def test_sse_streams_tokens_citations_and_summary_in_order(world: World) -> None:
    before = len(world.chat.requests)
    async with (
        httpx.AsyncClient(base_url=world.url, timeout=30) as client,
        client.stream(
            "POST",
            "/api/v1/chat/stream",
            json={"message": "How do I reset?", "kb_ids": [world.kb_a]},
            headers=bearer(world.agent),
        ) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        events = await sse_events(response)
    assert [name for name, _ in events] == ["token"] * len(TOKENS) + ["citation", "summary"]
    assert "".join(json.loads(data)["text"] for name, data in events[:3]) == "".join(TOKENS)
    citation = json.loads(events[3][1])
    assert citation["number"] == 1 and citation["url"] == "https://docs.example.test/reset"
    summary = json.loads(events[4][1])
    assert summary["provider"] == "scripted" and uuid.UUID(summary["conversation_id"])
    sent = world.chat.requests[before]
    assert list(sent.kb_ids) == [world.kb_a]
    assert list(sent.principal.readable_kb_ids) == [world.kb_a]
    assert sent.principal.subject == world.agent.user_id


async def test_owner_turn_names_every_kb_of_the_tenant_explicitly(world: World) -> None:
    before = len(world.chat.requests)
    async with (
        httpx.AsyncClient(base_url=world.url, timeout=30) as client,
        client.stream(
            "POST",
            "/api/v1/chat/stream",
            json={"message": "Anything?"},
            headers=bearer(world.owner),
        ) as response,
    ):
        assert response.status_code == 200
        await sse_events(response)
    sent = world.chat.requests[before]
    assert sorted(sent.kb_ids) == sorted([world.kb_a, world.kb_b])
    assert sorted(sent.principal.readable_kb_ids) == sorted([world.kb_a, world.kb_b])


async def test_sse_refuses_a_kb_the_caller_cannot_read(world: World) -> None:
    before = len(world.chat.requests)
    async with httpx.AsyncClient(base_url=world.url, timeout=30) as client:
        for kb in (world.kb_b, world.kb_c):
            response = await client.post(
                "/api/v1/chat/stream",
                json={"message": "Secrets?", "kb_ids": [kb]},
                headers=bearer(world.agent),
            )
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "forbidden"
            assert kb in response.json()["error"]["message"]
        unauthenticated = await client.post("/api/v1/chat/stream", json={"message": "Hi"})
        assert unauthenticated.status_code == 401
    assert len(world.chat.requests) == before


# --- WebSocket chat -----------------------------------------------------------------------------


async def test_ws_streams_a_turn_in_order_and_resumes_the_conversation(world: World) -> None:
    async with connect(ws_url(world.url, "/ws/chat")) as socket:
        await authenticated(socket, world.agent)
        await socket.send(json.dumps({"type": "ask", "message": "Reset?", "kb_ids": [world.kb_a]}))
        first = await frames_until(socket, {"summary", "error"})
        assert [f["type"] for f in first] == ["token"] * len(TOKENS) + ["citation", "summary"]
        assert first[3]["chunk_id"] == "chunk-reset"
        conversation_id = first[-1]["conversation_id"]

        await socket.send(
            json.dumps({"type": "ask", "message": "And then?", "conversation_id": conversation_id})
        )
        second = await frames_until(socket, {"summary", "error"})
        assert second[-1]["type"] == "summary"
        assert second[-1]["conversation_id"] == conversation_id
        assert world.chat.requests[-1].conversation_id == conversation_id

        await socket.send(json.dumps({"type": "ask", "message": "B?", "kb_ids": [world.kb_b]}))
        refused = await frames_until(socket, {"summary", "error"})
        assert refused[-1]["type"] == "error" and refused[-1]["code"] == "forbidden"


async def test_ws_authenticates_with_the_upgrade_header(world: World) -> None:
    async with connect(ws_url(world.url, "/ws/chat"), additional_headers=bearer(world.agent)) as s:
        assert (await frames_until(s, {"ready"}))[-1] == {"type": "ready"}


async def test_ws_refuses_a_token_in_the_url_and_bad_first_frames(world: World) -> None:
    url = ws_url(world.url, "/ws/chat")
    async with connect(f"{url}?token={world.agent.token}") as socket:
        assert await close_code(socket) == 4401
    async with connect(url) as socket:
        await socket.send(json.dumps({"type": "ask", "message": "no auth first"}))
        assert await close_code(socket) == 4401
    async with connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": "not-a-jwt"}))
        assert await close_code(socket) == 4401


async def test_ws_stop_cancels_the_grpc_stream(world: World) -> None:
    world.chat.hold = True
    world.chat.cancelled.clear()
    try:
        async with connect(ws_url(world.url, "/ws/chat")) as socket:
            await authenticated(socket, world.agent)
            await socket.send(json.dumps({"type": "ask", "message": "Long answer please"}))
            assert (await frames_until(socket, {"token"}))[-1]["text"] == TOKENS[0]
            await socket.send(json.dumps({"type": "stop"}))
            assert (await frames_until(socket, {"error", "summary"}))[-1]["code"] == "stopped"
            await asyncio.wait_for(world.chat.cancelled.wait(), 10)
    finally:
        world.chat.hold = False


async def test_ws_heartbeat_pings_and_closes_a_silent_client(world: World) -> None:
    async with connect(ws_url(world.second_url, "/ws/chat")) as socket:
        await authenticated(socket, world.agent)
        for _ in range(3):
            assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "ping"}
            await socket.send(json.dumps({"type": "pong"}))
        # Now silent: the next ping goes unanswered and the one after closes the socket.
        assert await close_code(socket) == 4408


# --- widget keys --------------------------------------------------------------------------------


async def test_widget_key_works_from_its_origin_only(world: World) -> None:
    body = {"message": "Reset?", "kb_ids": [world.kb_a]}
    async with httpx.AsyncClient(base_url=world.url, timeout=30) as client:
        preflight = await client.options(
            "/api/v1/chat/stream",
            headers={
                "Origin": WIDGET_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key,content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] in (WIDGET_ORIGIN, "*")
        async with client.stream(
            "POST",
            "/api/v1/chat/stream",
            json=body,
            headers={"X-API-Key": world.widget_key, "Origin": WIDGET_ORIGIN},
        ) as allowed:
            assert allowed.status_code == 200
            assert [name for name, _ in await sse_events(allowed)][-1] == "summary"
        refused = await client.post(
            "/api/v1/chat/stream",
            json=body,
            headers={"X-API-Key": world.widget_key, "Origin": "https://evil.example.test"},
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"

    url = ws_url(world.url, "/ws/chat")
    async with connect(url, origin=WIDGET_ORIGIN) as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"type": "auth", "api_key": world.widget_key}))
        assert (await frames_until(socket, {"ready"}))[-1] == {"type": "ready"}
    async with connect(url, origin="https://evil.example.test") as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"type": "auth", "api_key": world.widget_key}))
        assert await close_code(socket) == 4403


# --- rate limits --------------------------------------------------------------------------------


async def test_login_is_rate_limited_per_ip_with_retry_after(world: World) -> None:
    wrong = {"email": "nobody@relay.test", "password": "wrong password 1"}
    async with httpx.AsyncClient(base_url=world.url, timeout=30) as client:
        statuses = [
            (await client.post("/api/v1/auth/login", json=wrong)).status_code
            for _ in range(LOGIN_LIMIT)
        ]
        assert 429 not in statuses
        limited = await client.post("/api/v1/auth/login", json=wrong)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["request_id"] == limited.headers["x-request-id"]


# --- events -------------------------------------------------------------------------------------


def progress(world: World, kb_id: str, tenant_id: str, fetched: int) -> CrawlProgress:
    return CrawlProgress(
        crawl_id=uuid.uuid4(),
        kb_id=uuid.UUID(kb_id),
        tenant_id=uuid.UUID(tenant_id),
        state=CrawlState.RUNNING,
        fetched=fetched,
    )


async def test_events_reach_every_gateway_and_only_readable_kbs(world: World) -> None:
    """Progress of A, B (tenant 1) and C (tenant 2) goes through Kafka, the relay and Redis to
    sockets on both gateways: the owner of tenant 1 sees A and B, the agent only A, the owner of
    tenant 2 only C."""
    async with (
        connect(ws_url(world.url, "/ws/events")) as agent,
        connect(ws_url(world.second_url, "/ws/events")) as owner,
        connect(ws_url(world.second_url, "/ws/events")) as other_owner,
    ):
        await authenticated(agent, world.agent)
        await authenticated(owner, world.owner)
        await authenticated(other_owner, world.other_owner)
        sent = {
            world.kb_a: progress(world, world.kb_a, world.owner.tenant_id, 1),
            world.kb_b: progress(world, world.kb_b, world.owner.tenant_id, 2),
            world.kb_c: progress(world, world.kb_c, world.other_owner.tenant_id, 3),
        }
        producer = AIOKafkaProducer(bootstrap_servers=world.kafka.bootstrap_servers)
        await producer.start()
        try:
            for kb_id, event in sent.items():
                await producer.send_and_wait(
                    world.progress_topic, event.model_dump_json().encode(), key=kb_id.encode()
                )
        finally:
            await producer.stop()

        owner_seen = await events_of(owner, want={world.kb_a, world.kb_b})
        other_seen = await events_of(other_owner, want={world.kb_c})
        assert owner_seen[world.kb_b]["fetched"] == 2
        assert owner_seen[world.kb_a]["crawl_id"] == str(sent[world.kb_a].crawl_id)
        assert set(other_seen) == {world.kb_c}

        # Redis delivers a channel's messages in order: once a marker published after B's event
        # reaches the agent, B's event has already been through the agent's gateway.
        marker = progress(world, world.kb_a, world.owner.tenant_id, 99)
        await publish_progress(world.redis, marker)
        agent_seen = await raw_events(agent, until_crawl=str(marker.crawl_id))
        assert {e["kb_id"] for e in agent_seen} == {world.kb_a}
        assert [e["fetched"] for e in agent_seen] == [1, 99]
        assert all(e["type"] == "crawl.progress" for e in agent_seen)


async def events_of(socket: ClientConnection, want: set[str]) -> dict[str, dict[str, Any]]:
    """Progress frames by kb id until every kb of ``want`` was seen."""
    seen: dict[str, dict[str, Any]] = {}
    while not want <= set(seen):
        for frame in await frames_until(socket, {"crawl.progress"}):
            seen[frame["kb_id"]] = frame
    return seen


async def raw_events(socket: ClientConnection, until_crawl: str) -> list[dict[str, Any]]:
    """Progress frames in arrival order until the one of crawl ``until_crawl``."""
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["crawl_id"] != until_crawl:
        frames.extend(await frames_until(socket, {"crawl.progress"}))
    return frames


async def test_events_socket_refuses_a_token_in_the_url(world: World) -> None:
    async with connect(ws_url(world.url, f"/ws/events?access_token={world.owner.token}")) as s:
        assert await close_code(s) == 4401


# --- conversations ------------------------------------------------------------------------------


async def test_conversations_list_get_feedback_delete(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.url, timeout=30, headers=bearer(world.agent)) as c:
        async with c.stream(
            "POST", "/api/v1/chat/stream", json={"message": "Mine?", "kb_ids": [world.kb_a]}
        ) as response:
            summary = json.loads((await sse_events(response))[-1][1])
        conversation_id = summary["conversation_id"]

        listed = await c.get("/api/v1/conversations", params={"kb_id": world.kb_a})
        assert listed.status_code == 200
        assert conversation_id in [item["id"] for item in listed.json()["items"]]
        refused = await c.get("/api/v1/conversations", params={"kb_id": world.kb_b})
        assert refused.status_code == 403

        got = await c.get(f"/api/v1/conversations/{conversation_id}")
        assert got.status_code == 200
        messages = got.json()["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[1]["citations"][0]["url"] == "https://docs.example.test/reset"

        answer_id = messages[1]["id"]
        feedback = await c.post(
            f"/api/v1/conversations/{conversation_id}/feedback",
            json={"message_id": answer_id, "rating": "down", "comment": "wrong page"},
        )
        assert feedback.status_code == 204
        recorded = world.chat.feedback[-1]
        assert (recorded.message_id, recorded.rating) == (answer_id, "down")
        bad_rating = await c.post(
            f"/api/v1/conversations/{conversation_id}/feedback",
            json={"message_id": answer_id, "rating": "meh"},
        )
        assert bad_rating.status_code == 422

        # The other tenant's owner does not see the agent's conversation.
        other = await c.get(
            f"/api/v1/conversations/{conversation_id}", headers=bearer(world.other_owner)
        )
        assert other.status_code == 404

        assert (await c.delete(f"/api/v1/conversations/{conversation_id}")).status_code == 204
        assert (await c.get(f"/api/v1/conversations/{conversation_id}")).status_code == 404
