"""Chat through the whole platform: the gateway's SSE and WebSocket in front of the real auth,
retriever and chat processes (``running_stack``), each on names of its own.

The knowledge bases are new and empty, so the chat service answers with its decline: the test is
about the path (a turn streams tokens then a summary through the gateway, ChatService gets the
caller's kb ids, and a member who reads kb A only is refused kb B on both transports), not about
answer quality (``make eval``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[IngestionPipeline]:
    suffix = uuid4().hex[:10]
    workdir: Path = tmp_path_factory.mktemp("gateway-chat")
    env = {"gateway": {"GATEWAY_RATE_LIMIT_KEY_PREFIX": f"ratelimit-{suffix}"}}
    async with running_stack(
        infra,
        suffix,
        workdir,
        env=env,
        only=("auth", "retriever", "chat", "gateway"),
    ) as running:
        yield running


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
        events.append((lines["event"].strip(), json.loads(lines["data"])))
    return events


async def test_chat_through_gateway_chat_and_retriever(stack: IngestionPipeline) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=120) as client:
        owner_token = await login(client, stack.owner_email, stack.owner_password)
        owner = {"Authorization": f"Bearer {owner_token}"}
        kbs = []
        for name in ("A", "B"):
            created = await client.post(
                "/api/v1/knowledge-bases", json={"name": name, "description": ""}, headers=owner
            )
            assert created.status_code in (200, 201), created.text
            kbs.append(created.json()["id"])
        kb_a, kb_b = kbs
        invited = await client.post(
            "/api/v1/invitations",
            json={"email": "agent@stack.test", "role": "agent"},
            headers=owner,
        )
        assert invited.status_code in (200, 201), invited.text
        accepted = await client.post(
            "/api/v1/auth/invitations/accept",
            json={"token": invited.json()["token"], "password": "agent password 1"},
        )
        assert accepted.status_code == 200, accepted.text
        agent_token = accepted.json()["access_token"]
        granted = await client.put(
            f"/api/v1/users/{accepted.json()['user']['id']}/grants",
            json={"kb_ids": [kb_a]},
            headers=owner,
        )
        assert granted.status_code == 200, granted.text
        agent = {"Authorization": f"Bearer {agent_token}"}

        answered = await client.post(
            "/api/v1/chat/stream",
            json={"message": "How do I reset my password?", "kb_ids": [kb_a]},
            headers=agent,
        )
        assert answered.status_code == 200, answered.text
        events = sse(answered.text)
        names = [name for name, _ in events]
        assert names[-1] == "summary" and "token" in names
        assert names.index("summary") > max(i for i, n in enumerate(names) if n == "token")
        summary = events[-1][1]
        assert summary["declined"] is True and summary["conversation_id"]

        refused = await client.post(
            "/api/v1/chat/stream", json={"message": "Secrets?", "kb_ids": [kb_b]}, headers=agent
        )
        assert refused.status_code == 403

        listed = await client.get("/api/v1/conversations", headers=agent)
        assert summary["conversation_id"] in [c["id"] for c in listed.json()["items"]]

    url = stack.gateway_url.replace("http://", "ws://") + "/ws/chat"
    async with connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": agent_token}))
        assert json.loads(await socket.recv()) == {"type": "ready"}
        await socket.send(
            json.dumps(
                {
                    "type": "ask",
                    "message": "And my username?",
                    "conversation_id": summary["conversation_id"],
                }
            )
        )
        frames = []
        while not frames or frames[-1]["type"] not in ("summary", "error"):
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), 120)))
        assert frames[-1]["type"] == "summary", frames
        assert frames[-1]["conversation_id"] == summary["conversation_id"]
        await socket.send(json.dumps({"type": "ask", "message": "B?", "kb_ids": [kb_b]}))
        error = json.loads(await asyncio.wait_for(socket.recv(), 60))
        assert error["type"] == "error" and error["code"] == "forbidden"
