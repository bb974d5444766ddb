"""Access control of the gateway's REST API against the real auth, retriever and chat processes
(``running_stack``), each on names of its own.

- The role matrix: every endpoint of the gateway core in ONE table (:data:`MATRIX`) with the least
  role and the API-key scopes that may call it; each row is called as owner, admin, editor, agent,
  viewer and three API keys (read, ingest, chat), and must be allowed exactly for those.
- Isolation: members and keys who may read knowledge base A only get nothing of B through search,
  the knowledge-base endpoints or crawls.
- Credentials: tampered, revoked (removed member, password change, logout, revoked key) tokens and
  keys are refused; refresh rotates through the cookie and the body and reuse ends the session.
- Audit: login success and failure, role change, key creation and revocation, crawl submission and
  knowledge-base deletion are written to the audit log.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from ragchat_common.events import ChunkEmbedded, chunk_id_for, page_id_for

from tests.harness.pipeline import Infrastructure, IngestionPipeline, running_stack, wait_for

# The module's stack starts inside the first test's setup: minutes on a busy machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROLES = ("owner", "admin", "editor", "agent", "viewer")
KEYS = ("read", "ingest", "chat")
PASSWORD = "Member-password-1"


@dataclass
class World:
    """The stack and who is in it: members by role, API keys by scope, two knowledge bases."""

    stack: IngestionPipeline
    client: httpx.AsyncClient
    tenant_id: str
    kb_a: str
    kb_b: str
    crawl_a: str
    crawl_b: str
    emails: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    spare_user: str = ""

    async def call(
        self, who: str, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> httpx.Response:
        """One request as ``who`` (a role or a key name)."""
        return await self.client.request(
            method, path, json=body, headers=self.headers[who], **kwargs
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


def unit_vector(seed: int) -> list[float]:
    rng = random.Random(seed)
    vector = [rng.gauss(0, 1) for _ in range(384)]
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


async def index_page(stack: IngestionPipeline, kb_id: str, tenant_id: str, text: str) -> None:
    """One chunk of one page of ``kb_id`` indexed through the retriever's own topic."""
    url = f"https://{kb_id[:8]}.example/page"
    page_id = page_id_for(UUID(kb_id), url)
    content_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
    event = ChunkEmbedded(
        chunk_id=chunk_id_for(page_id, 0, content_hash),
        page_id=page_id,
        crawl_id=uuid4(),
        kb_id=UUID(kb_id),
        tenant_id=UUID(tenant_id),
        url=url,
        title=f"Page of {kb_id[:8]}",
        ordinal=0,
        chunk_count=1,
        text=text,
        content_hash=content_hash,
        language="en",
        vector=unit_vector(len(text)),
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack.infra.kafka.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            stack.names.chunks.name, event.model_dump_json().encode(), key=page_id.encode()
        )
    finally:
        await producer.stop()


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[IngestionPipeline]:
    suffix = uuid4().hex[:10]
    workdir: Path = tmp_path_factory.mktemp("gateway-access")
    env = {
        "gateway": {
            "GATEWAY_RATE_LIMIT_KEY_PREFIX": f"ratelimit-{suffix}",
            # Every member logs in several times here; the per-IP login limit has its own test.
            "GATEWAY_RATE_LIMIT_LOGIN_IP": "1000/minute",
            "GATEWAY_RATE_LIMIT_USER": "10000/minute",
            "GATEWAY_RATE_LIMIT_API_KEY": "10000/minute",
        }
    }
    async with running_stack(
        infra,
        suffix,
        workdir,
        env=env,
        only=("auth", "retriever", "chat", "gateway"),
    ) as running:
        yield running


async def invite(
    client: httpx.AsyncClient, owner: dict[str, str], email: str, role: str
) -> dict[str, Any]:
    """Invite ``email`` as ``role`` and accept; returns the new member's session."""
    created = await client.post(
        "/api/v1/invitations", json={"email": email, "role": role}, headers=owner
    )
    assert created.status_code == 201, created.text
    accepted = await client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": created.json()["token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    session: dict[str, Any] = accepted.json()
    return session


@pytest.fixture(scope="module")
async def world(stack: IngestionPipeline) -> AsyncIterator[World]:
    """Members of every role (editor, agent and viewer granted kb A only), keys on kb A, and one
    indexed chunk and one crawl in each of kb A and kb B."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        session = await login(client, stack.owner_email, stack.owner_password)
        owner = bearer(session["access_token"])
        tenant_id = session["user"]["tenant_id"]
        kbs = []
        for name in ("A", "B"):
            created = await client.post(
                "/api/v1/knowledge-bases", json={"name": name, "description": name}, headers=owner
            )
            assert created.status_code == 201, created.text
            kbs.append(created.json()["id"])
        kb_a, kb_b = kbs
        crawls = []
        for kb in kbs:
            crawl = await client.post(
                f"/api/v1/knowledge-bases/{kb}/crawls",
                json={"urls": [f"https://{kb[:8]}.example/"], "mode": "single"},
                headers=owner,
            )
            assert crawl.status_code == 201, crawl.text
            crawls.append(crawl.json()["id"])
        world = World(stack, client, tenant_id, kb_a, kb_b, crawls[0], crawls[1])
        world.emails["owner"] = stack.owner_email
        world.user_ids["owner"] = session["user"]["id"]
        world.headers["owner"] = owner
        for role in ROLES[1:]:
            email = f"{role}-{uuid4().hex[:6]}@members.test"
            member = await invite(client, owner, email, role)
            user_id = str(member["user"]["id"])
            if role not in ("owner", "admin"):
                granted = await client.put(
                    f"/api/v1/users/{user_id}/grants", json={"kb_ids": [kb_a]}, headers=owner
                )
                assert granted.status_code == 200, granted.text
                assert granted.json()["kb_ids"] == [kb_a]
            world.emails[role] = email
            world.user_ids[role] = user_id
            # Auth reads grants when it verifies a token, so this one already sees kb A.
            world.headers[role] = bearer(member["access_token"])
        spare = await invite(client, owner, f"spare-{uuid4().hex[:6]}@m.test", "viewer")
        world.spare_user = str(spare["user"]["id"])
        for scope in KEYS:
            created = await client.post(
                "/api/v1/api-keys",
                json={"name": f"{scope} key", "scopes": [scope], "kb_ids": [kb_a]},
                headers=owner,
            )
            assert created.status_code == 201, created.text
            world.headers[scope] = {"X-API-Key": created.json()["key"]}
        await index_page(stack, kb_a, tenant_id, "Alpha warranty lasts two years")
        await index_page(stack, kb_b, tenant_id, "Bravo warranty lasts five years")

        async def both_indexed() -> bool:
            await stack.refresh()
            return all([await stack.indexed_count(UUID(kb)) > 0 for kb in kbs])

        await wait_for("the two test chunks indexed", both_indexed, 120)
        yield world


# --- the role matrix --------------------------------------------------------------------------

RANK = {role: len(ROLES) - i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: who may call it (least role, key scopes), and how to call it.

    ``path`` may name ``{kb}`` (kb A, which every member and key can reach), ``{crawl}`` (a
    crawl of kb A), ``{user}`` (a spare viewer), ``{missing}`` (an id that exists nowhere: an
    allowed caller gets 404 there). ``fresh_kb`` gives each call a knowledge base of its own,
    granted to the caller, for destructive calls.
    """

    method: str
    path: str
    least_role: str | None
    scopes: frozenset[str] = frozenset()
    body: Callable[[World], Any] | None = None
    ok: int = 200
    fresh_kb: bool = False


def _name(_: World) -> dict[str, str]:
    return {"name": f"kb-{uuid4().hex[:8]}", "description": ""}


MATRIX: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v1/auth/me", "viewer", frozenset(KEYS)),
    Endpoint("GET", "/api/v1/users", "admin"),
    Endpoint("PATCH", "/api/v1/users/{user}", "admin", body=lambda w: {"role": "viewer"}),
    Endpoint("DELETE", "/api/v1/users/{missing}", "admin", ok=404),
    Endpoint("PUT", "/api/v1/users/{user}/grants", "admin", body=lambda w: {"kb_ids": [w.kb_a]}),
    Endpoint(
        "POST",
        "/api/v1/invitations",
        "admin",
        body=lambda w: {"email": f"i-{uuid4().hex[:8]}@inv.test", "role": "viewer"},
        ok=201,
    ),
    Endpoint("GET", "/api/v1/api-keys", "admin"),
    Endpoint(
        "POST",
        "/api/v1/api-keys",
        "admin",
        body=lambda w: {"name": "k", "scopes": ["read"], "kb_ids": [w.kb_a]},
        ok=201,
    ),
    Endpoint("DELETE", "/api/v1/api-keys/{missing}", "admin", ok=404),
    Endpoint("GET", "/api/v1/audit", "admin"),
    Endpoint("GET", "/api/v1/knowledge-bases", "viewer", frozenset(KEYS)),
    Endpoint("POST", "/api/v1/knowledge-bases", "editor", body=_name, ok=201),
    Endpoint("GET", "/api/v1/knowledge-bases/{kb}", "agent", frozenset({"read", "ingest"})),
    Endpoint(
        "PATCH", "/api/v1/knowledge-bases/{kb}", "editor", body=lambda w: {"description": "d"}
    ),
    Endpoint("DELETE", "/api/v1/knowledge-bases/{kb}", "editor", ok=204, fresh_kb=True),
    Endpoint(
        "POST",
        "/api/v1/knowledge-bases/{kb}/crawls",
        "editor",
        frozenset({"ingest"}),
        body=lambda w: {"urls": ["https://matrix.example/"], "mode": "single"},
        ok=201,
    ),
    Endpoint("GET", "/api/v1/knowledge-bases/{kb}/crawls", "agent", frozenset({"read", "ingest"})),
    Endpoint("GET", "/api/v1/crawls/{crawl}", "agent", frozenset({"read", "ingest"})),
    Endpoint("POST", "/api/v1/crawls/{crawl}/cancel", "editor", frozenset({"ingest"})),
    Endpoint(
        "POST",
        "/api/v1/search",
        "agent",
        frozenset({"read"}),
        body=lambda w: {"query": "warranty", "kb_ids": [w.kb_a], "mode": "bm25"},
    ),
)


def allowed(endpoint: Endpoint, who: str) -> bool:
    """What the table says about ``who`` (a role or a key scope)."""
    if who in KEYS:
        return who in endpoint.scopes
    return endpoint.least_role is not None and RANK[who] >= RANK[endpoint.least_role]


async def fresh_kb_for(world: World, who: str) -> str:
    """A new knowledge base of the tenant that ``who`` can reach (granted, or a key's own)."""
    owner = world.headers["owner"]
    created = await world.client.post("/api/v1/knowledge-bases", json=_name(world), headers=owner)
    assert created.status_code == 201, created.text
    kb_id = str(created.json()["id"])
    if who in ("editor", "agent", "viewer"):
        granted = await world.client.put(
            f"/api/v1/users/{world.user_ids[who]}/grants",
            json={"kb_ids": [world.kb_a, kb_id]},
            headers=owner,
        )
        assert granted.status_code == 200, granted.text
    return kb_id


@pytest.mark.parametrize("endpoint", MATRIX, ids=lambda e: f"{e.method} {e.path}")
async def test_role_matrix(world: World, endpoint: Endpoint) -> None:
    outcomes = {}
    for who in (*ROLES, *KEYS):
        kb = await fresh_kb_for(world, who) if endpoint.fresh_kb else world.kb_a
        path = endpoint.path.format(
            kb=kb, crawl=world.crawl_a, user=world.spare_user, missing=uuid4()
        )
        body = endpoint.body(world) if endpoint.body else None
        response = await world.call(who, endpoint.method, path, body)
        outcomes[who] = response.status_code
        expected = endpoint.ok if allowed(endpoint, who) else 403
        assert response.status_code == expected, (who, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["code"] and error["message"]
            assert error["request_id"] == response.headers["X-Request-ID"]
    assert set(outcomes) == {*ROLES, *KEYS}


async def test_every_route_of_the_core_is_in_the_matrix(world: World) -> None:
    spec = (await world.client.get("/openapi.json")).json()
    core = ("/api/v1/auth/me", "/api/v1/users", "/api/v1/invitations", "/api/v1/api-keys")
    core += ("/api/v1/audit", "/api/v1/knowledge-bases", "/api/v1/crawls", "/api/v1/search")
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith(core) and not path.endswith("/pages")
        for method in operations
    }
    placeholders = {
        "{user}": "{user_id}",
        "{missing}": "{user_id}",
        "{kb}": "{kb_id}",
        "{crawl}": "{crawl_id}",
    }
    tested = set()
    for endpoint in MATRIX:
        path = endpoint.path
        for mine, theirs in placeholders.items():
            path = path.replace(mine, theirs)
        if path.startswith("/api/v1/api-keys/"):
            path = "/api/v1/api-keys/{key_id}"
        tested.add((endpoint.method, path))
    assert documented <= tested, sorted(documented - tested)


# --- isolation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["editor", "agent", "read"])
async def test_a_reader_of_kb_a_gets_nothing_of_kb_b(world: World, who: str) -> None:
    # (The role matrix may have granted members more throwaway knowledge bases; never kb B.)
    listed = await world.call(who, "GET", "/api/v1/knowledge-bases")
    listed_ids = [kb["id"] for kb in listed.json()["items"]]
    assert world.kb_a in listed_ids and world.kb_b not in listed_ids

    searched = await world.call(who, "POST", "/api/v1/search", {"query": "warranty years"})
    assert searched.status_code == 200, searched.text
    hits = searched.json()["hits"]
    assert hits and {hit["kb_id"] for hit in hits} == {world.kb_a}
    assert all("Bravo" not in hit["text"] for hit in hits)

    asked_b = await world.call(
        who, "POST", "/api/v1/search", {"query": "warranty", "kb_ids": [world.kb_b]}
    )
    assert asked_b.status_code == 404
    assert "Bravo" not in asked_b.text

    for path in (
        f"/api/v1/knowledge-bases/{world.kb_b}",
        f"/api/v1/knowledge-bases/{world.kb_b}/crawls",
        f"/api/v1/crawls/{world.crawl_b}",
    ):
        refused = await world.call(who, "GET", path)
        assert refused.status_code == 403, (path, refused.text)
        assert (
            world.kb_b not in refused.json()["error"]["message"]
            or "no access" in (refused.json()["error"]["message"])
        )

    me = (await world.call(who, "GET", "/api/v1/auth/me")).json()
    assert world.kb_a in me["readable_kb_ids"] and world.kb_b not in me["readable_kb_ids"]


async def test_owner_search_spans_every_kb_of_the_tenant(world: World) -> None:
    searched = await world.call("owner", "POST", "/api/v1/search", {"query": "warranty years"})
    assert searched.status_code == 200
    assert {hit["kb_id"] for hit in searched.json()["hits"]} == {world.kb_a, world.kb_b}


async def test_another_tenants_kb_is_not_found(world: World) -> None:
    other = await world.client.post(
        "/api/v1/auth/register",
        json={
            "email": f"other-{uuid4().hex[:6]}@other.test",
            "password": PASSWORD,
            "organization_name": f"Other {uuid4().hex[:6]}",
        },
    )
    assert other.status_code == 201, other.text
    headers = bearer(other.json()["access_token"])
    for method, path in (
        ("GET", f"/api/v1/knowledge-bases/{world.kb_a}"),
        ("DELETE", f"/api/v1/knowledge-bases/{world.kb_a}"),
        ("GET", f"/api/v1/crawls/{world.crawl_a}"),
    ):
        response = await world.client.request(method, path, headers=headers)
        assert response.status_code == 404, (path, response.text)
    searched = await world.client.post(
        "/api/v1/search", json={"query": "warranty", "kb_ids": [world.kb_a]}, headers=headers
    )
    assert searched.status_code == 404
    assert (await world.client.get("/api/v1/knowledge-bases", headers=headers)).json() == {
        "items": []
    }


# --- credentials ---------------------------------------------------------------------------------


async def test_tampered_and_missing_credentials_are_refused(world: World) -> None:
    token = world.headers["agent"]["Authorization"].removeprefix("Bearer ")
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for headers in (
        {},
        bearer(f"{header}.{payload}.{flipped}"),
        bearer(f"{header}.{payload[:-4]}abcd.{signature}"),
        bearer("not-a-jwt"),
        {"X-API-Key": "rck_unknown_key"},
        {"X-API-Key": world.headers["read"]["X-API-Key"] + "x"},
    ):
        response = await world.client.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"


async def expired_copy(world: World, token: str) -> str:
    """``token`` with its times moved an hour back, signed with the stack's own signing key.

    The key is read from auth's table (stored unencrypted when no passphrase is configured, as in
    test stacks), so only the expiry differs from a token auth would accept.
    """
    import os

    import asyncpg
    import jwt
    from cryptography.hazmat.primitives import serialization

    kid = jwt.get_unverified_header(token)["kid"]
    postgres = world.stack.infra.postgres
    connection = await asyncpg.connect(
        host=postgres.host,
        port=postgres.port,
        user=postgres.user,
        password=postgres.password.get_secret_value(),
        database=f"e2e_{world.stack.names.suffix}",
    )
    try:
        pem = await connection.fetchval(
            "SELECT private_pem FROM auth.signing_keys WHERE kid = $1", kid
        )
    finally:
        await connection.close()
    passphrase = os.environ.get("AUTH_KEY_PASSPHRASE")
    key = serialization.load_pem_private_key(
        pem.encode(), password=passphrase.encode() if passphrase else None
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["iat"] = claims["iat"] - 3600
    claims["exp"] = int(claims["exp"]) - 3600
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})  # type: ignore[arg-type]


async def test_an_expired_token_is_refused(world: World) -> None:
    token = world.headers["agent"]["Authorization"].removeprefix("Bearer ")
    assert (await world.call("agent", "GET", "/api/v1/auth/me")).status_code == 200

    expired = await expired_copy(world, token)
    response = await world.client.get("/api/v1/auth/me", headers=bearer(expired))

    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_revoked_credentials_are_refused(world: World) -> None:
    owner = world.headers["owner"]
    client = world.client
    # A removed member's access token.
    email = f"leaver-{uuid4().hex[:6]}@m.test"
    joined = await invite(client, owner, email, "agent")
    leaver = joined["user"]["id"]
    token = bearer(joined["access_token"])
    assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 200
    assert (await client.delete(f"/api/v1/users/{leaver}", headers=owner)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 401

    # Tokens issued before a password change.
    email = f"changer-{uuid4().hex[:6]}@m.test"
    old = await invite(client, owner, email, "viewer")
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "A-new-password-2"},
        headers=bearer(old["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    await asyncio.sleep(1.1)  # JWT times are whole seconds: the new token must be later.
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(old["access_token"]))
    ).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert refreshed.status_code == 401

    # A revoked API key.
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "short-lived", "scopes": ["read"], "kb_ids": [world.kb_a]},
        headers=owner,
    )
    key = {"X-API-Key": created.json()["key"]}
    assert (await client.get("/api/v1/auth/me", headers=key)).status_code == 200
    revoked = await client.delete(
        f"/api/v1/api-keys/{created.json()['api_key']['id']}", headers=owner
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await client.get("/api/v1/auth/me", headers=key)).status_code == 401


async def test_refresh_rotates_via_cookie_and_body_and_reuse_ends_the_session(
    world: World,
) -> None:
    email = world.emails["viewer"]
    async with httpx.AsyncClient(base_url=world.stack.gateway_url, timeout=60) as browser:
        logged_in = await browser.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        cookie = logged_in.headers["set-cookie"]
        assert "ragchat_refresh=" in cookie and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Path=/api/v1/auth" in cookie
        first = logged_in.json()["refresh_token"]

        # The browser sends the cookie only (the client keeps it for /api/v1/auth).
        by_cookie = await browser.post("/api/v1/auth/refresh")
        assert by_cookie.status_code == 200, by_cookie.text
        second = by_cookie.json()["refresh_token"]
        assert second != first
        assert browser.cookies.get("ragchat_refresh") == second

    # The CLI sends the body; the newest token works once.
    by_body = await world.client.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert by_body.status_code == 200, by_body.text
    third = by_body.json()["refresh_token"]

    # Reusing a spent token ends the whole session: the newest one stops working too.
    reused = await world.client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reused.status_code == 401
    after = await world.client.post("/api/v1/auth/refresh", json={"refresh_token": third})
    assert after.status_code == 401


async def test_logout_ends_the_refresh_token(world: World) -> None:
    session = await login(world.client, world.emails["agent"], PASSWORD)
    out = await world.client.post(
        "/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}
    )
    assert out.status_code == 204
    again = await world.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert again.status_code == 401


# --- audit --------------------------------------------------------------------------------------


async def audit(world: World, **filters: str) -> list[dict[str, Any]]:
    response = await world.call("owner", "GET", "/api/v1/audit", params=filters | {"limit": 500})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def test_audited_actions_are_in_the_audit_log(world: World) -> None:
    client, owner = world.client, world.headers["owner"]
    bad = await client.post(
        "/api/v1/auth/login", json={"email": world.emails["agent"], "password": "wrong-password"}
    )
    assert bad.status_code == 401
    await login(client, world.emails["agent"], PASSWORD)
    changed = await client.patch(
        f"/api/v1/users/{world.spare_user}", json={"role": "agent"}, headers=owner
    )
    assert changed.status_code == 200
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "audited", "scopes": ["chat"], "kb_ids": [world.kb_a]},
        headers=owner,
    )
    key_id = created.json()["api_key"]["id"]
    await client.delete(f"/api/v1/api-keys/{key_id}", headers=owner)
    doomed = await fresh_kb_for(world, "owner")
    crawl = await client.post(
        f"/api/v1/knowledge-bases/{doomed}/crawls",
        json={"urls": ["https://doomed.example/"]},
        headers=owner,
    )
    assert crawl.status_code == 201
    deleted = await client.delete(f"/api/v1/knowledge-bases/{doomed}", headers=owner)
    assert deleted.status_code == 204
    refused = await world.call("agent", "DELETE", f"/api/v1/knowledge-bases/{world.kb_a}")
    assert refused.status_code == 403

    entries = await audit(world)
    seen = {(e["action"], e["outcome"], e["resource"]) for e in entries}
    actions = {(e["action"], e["outcome"]) for e in entries}
    logins = [e for e in entries if e["action"] == "login"]
    assert any(e["outcome"] == "failure" for e in logins), actions
    assert any(e["outcome"] == "success" and e["ip"] for e in logins), actions
    assert ("member.role_change", "success", f"user:{world.spare_user}") in seen
    assert ("apikey.create", "success") in actions
    assert ("apikey.revoke", "success", f"apikey:{key_id}") in seen
    assert ("crawl.submit", "success", f"kb:{doomed}") in seen
    assert ("kb.delete", "success", f"kb:{doomed}") in seen
    denied = [e for e in entries if (e["action"], e["outcome"]) == ("kb.delete", "denied")]
    assert any(
        e["resource"] == f"kb:{world.kb_a}" and e["actor"]["id"] == world.user_ids["agent"]
        for e in denied
    )
    failures = await audit(world, outcome="failure")
    assert failures and all(e["outcome"] == "failure" for e in failures)


# --- knowledge bases and crawls -----------------------------------------------------------------


async def test_knowledge_base_stats_and_deletion_remove_index_data(world: World) -> None:
    owner = world.headers["owner"]
    kb = await fresh_kb_for(world, "owner")
    await index_page(world.stack, kb, world.tenant_id, "Charlie has a one year warranty")

    async def indexed() -> bool:
        await world.stack.refresh()
        return await world.stack.indexed_count(UUID(kb)) == 1

    await wait_for("the chunk indexed", indexed, 120)
    crawl = await world.client.post(
        f"/api/v1/knowledge-bases/{kb}/crawls",
        json={"urls": ["https://charlie.example/"], "mode": "recursive"},
        headers=owner,
    )
    got = (await world.client.get(f"/api/v1/knowledge-bases/{kb}", headers=owner)).json()
    assert got["stats"]["pages"] == 1 and got["stats"]["chunks"] == 1
    assert got["stats"]["last_crawl"]["id"] == crawl.json()["id"]
    assert got["stats"]["last_crawl"]["state"] == "queued"

    deleted = await world.client.delete(f"/api/v1/knowledge-bases/{kb}", headers=owner)
    assert deleted.status_code == 204
    await world.stack.refresh()
    assert await world.stack.indexed_count(UUID(kb)) == 0
    redis_key = f"scraper:crawl:{crawl.json()['id']}:cancel"
    assert await _redis_exists(world, redis_key)
    gone = await world.client.get(f"/api/v1/knowledge-bases/{kb}", headers=owner)
    assert gone.status_code == 404


async def _redis_exists(world: World, key: str) -> bool:
    from redis.asyncio import Redis

    redis = Redis.from_url(world.stack.infra.redis.url)
    try:
        return bool(await redis.exists(key))
    finally:
        await redis.aclose()


async def test_crawl_progress_is_stored_and_cancel_sets_the_scraper_flag(world: World) -> None:
    from ragchat_common.events import CrawlProgress, CrawlState

    owner = world.headers["owner"]
    submitted = await world.client.post(
        f"/api/v1/knowledge-bases/{world.kb_a}/crawls",
        json={"urls": ["https://progress.example/"], "scope": {"max_pages": 5}},
        headers=owner,
    )
    crawl = submitted.json()
    assert crawl["state"] == "queued" and crawl["scope"]["max_pages"] == 5
    progress = CrawlProgress(
        crawl_id=UUID(crawl["id"]),
        kb_id=UUID(world.kb_a),
        tenant_id=UUID(world.tenant_id),
        state=CrawlState.RUNNING,
        discovered=7,
        fetched=3,
        failed=1,
        current_url="https://progress.example/3",
        pages_per_second=1.5,
    )
    producer = AIOKafkaProducer(bootstrap_servers=world.stack.infra.kafka.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            world.stack.names.progress.name,
            progress.model_dump_json().encode(),
            key=crawl["id"].encode(),
        )
    finally:
        await producer.stop()

    async def stored() -> bool:
        got = await world.call("agent", "GET", f"/api/v1/crawls/{crawl['id']}")
        return bool(got.json()["progress"]["fetched"] == 3)

    await wait_for("crawl progress stored", stored, 60)
    got = (await world.call("agent", "GET", f"/api/v1/crawls/{crawl['id']}")).json()
    assert got["state"] == "running"
    assert (got["progress"]["discovered"], got["progress"]["failed"]) == (7, 1)
    assert got["progress"]["current_url"] == "https://progress.example/3"

    cancelled = await world.call("editor", "POST", f"/api/v1/crawls/{crawl['id']}/cancel")
    assert cancelled.status_code == 200
    assert await _redis_exists(world, f"scraper:crawl:{crawl['id']}:cancel")


@pytest.mark.parametrize(
    "body",
    [
        {"urls": []},
        {"urls": ["ftp://x.example/"]},
        {"urls": ["https://x.example/"], "mode": "everything"},
        {"urls": ["https://x.example/"], "scope": {"include_patterns": ["("]}},
        {"urls": ["https://x.example/"], "scope": {"max_pages": 0}},
        {"urls": ["https://x.example/"], "surprise": 1},
    ],
)
async def test_bad_crawl_requests_are_422_with_a_reason(world: World, body: dict[str, Any]) -> None:
    response = await world.call(
        "owner", "POST", f"/api/v1/knowledge-bases/{world.kb_a}/crawls", body
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "body" in error["message"]


async def test_responses_carry_ids_and_security_headers(world: World) -> None:
    response = await world.client.get(
        "/api/v1/knowledge-bases", headers={**world.headers["owner"], "X-Request-ID": "abc-123"}
    )
    assert response.headers["X-Request-ID"] == "abc-123"
    assert len(response.headers["X-Trace-ID"]) == 32
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    too_big = await world.client.post(
        "/api/v1/search",
        content=b'{"query": "' + b"x" * 2_000_000 + b'"}',
        headers={**world.headers["owner"], "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"


async def test_jwks_publishes_the_key_that_signs_access_tokens(world: World) -> None:
    import jwt

    token = world.headers["viewer"]["Authorization"].removeprefix("Bearer ")
    kid = jwt.get_unverified_header(token)["kid"]
    for path in ("/api/v1/auth/jwks", "/.well-known/jwks.json"):
        response = await world.client.get(path)
        assert response.status_code == 200
        keys = {key["kid"]: key for key in response.json()["keys"]}
        assert kid in keys
        public = jwt.PyJWK(keys[kid]).key
        claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="ragchat")
        assert claims["sub"] == world.user_ids["viewer"]


async def test_api_keys_have_no_password_to_change(world: World) -> None:
    response = await world.call(
        "read",
        "POST",
        "/api/v1/auth/password",
        {"current_password": "x", "new_password": "y-long-enough-1"},
    )
    assert response.status_code == 403
