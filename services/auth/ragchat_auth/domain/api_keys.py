"""API keys: scoped credentials for scripts (``server`` keys) and public chat widgets
(``widget`` keys, usable only from the browser origins they list).

A key is shown once when created; only the hash of its secret part is stored. Every key names
the knowledge bases it may use: a widget key embedded in a public page must never reach more.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_auth.domain import credentials
from ragchat_auth.domain.audit import Actor, ClientInfo, Outcome, record
from ragchat_auth.domain.credentials import ApiKeySecret
from ragchat_auth.domain.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from ragchat_auth.domain.ids import parse_id
from ragchat_auth.domain.members import require
from ragchat_auth.domain.rules import Principal, PrincipalKind, Scope
from ragchat_auth.store import api_keys as key_store
from ragchat_auth.store.api_keys import ApiKeyRecord, NewApiKey

KEY_REFUSED = "API key is not valid"


class KeyKind(StrEnum):
    """Where a key is used from."""

    SERVER = "server"
    WIDGET = "widget"


@dataclass(frozen=True)
class KeyRequest:
    """What a new key may do."""

    name: str
    kind: str
    scopes: list[str]
    kb_ids: list[str]
    allowed_origins: list[str]


def normalise_origin(origin: str) -> str:
    """``scheme://host[:port]`` as browsers send it in the Origin header."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
        raise InvalidArgument(f"not an origin (scheme://host[:port]): {origin!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def validate(request: KeyRequest) -> tuple[KeyKind, list[str], list[UUID], list[str]]:
    """Check a key request; returns its kind, scopes, knowledge bases and origins."""
    if not request.name.strip() or len(request.name) > 200:
        raise InvalidArgument("key name must have 1 to 200 characters")
    try:
        kind = KeyKind(request.kind or KeyKind.SERVER)
        scopes = sorted({Scope(s).value for s in request.scopes})
    except ValueError as exc:
        raise InvalidArgument(f"{exc}; kinds: server, widget; scopes: chat, ingest, read") from exc
    if not scopes:
        raise InvalidArgument("a key needs at least one scope")
    if not request.kb_ids:
        raise InvalidArgument("a key must name the knowledge bases it may use")
    kb_ids = sorted({parse_id(k, "knowledge base id") for k in request.kb_ids})
    origins = sorted({normalise_origin(o) for o in request.allowed_origins})
    if kind is KeyKind.WIDGET:
        if not origins:
            raise InvalidArgument("a widget key needs at least one allowed origin")
        if scopes != [Scope.CHAT.value]:
            raise InvalidArgument("a widget key is public: its only scope can be chat")
    elif origins:
        raise InvalidArgument("only widget keys carry allowed origins")
    return kind, scopes, kb_ids, origins


def principal_of(key: ApiKeyRecord) -> Principal:
    """The principal a key stands for: its scopes, on its knowledge bases only."""
    return Principal(
        subject=str(key.id),
        tenant_id=str(key.tenant_id),
        kind=PrincipalKind.API_KEY,
        readable_kb_ids=frozenset(str(k) for k in key.kb_ids),
        scopes=frozenset(key.scopes),
        label=key.name,
    )


class ApiKeys:
    """Creating, listing, revoking and checking API keys."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, principal: Principal, request: KeyRequest, client: ClientInfo
    ) -> tuple[ApiKeyRecord, str]:
        """Create a key; returns it and its full secret, which is never available again."""
        require(principal, "apikeys.manage")
        kind, scopes, kb_ids, origins = validate(request)
        unreachable = [str(k) for k in kb_ids if not principal.can_reach(str(k))]
        if unreachable:
            raise PermissionDenied(f"no access to knowledge bases {unreachable}")
        secret = ApiKeySecret.generate()
        new_key = NewApiKey(
            id=uuid4(),
            tenant_id=parse_id(principal.tenant_id),
            name=request.name.strip(),
            kind=kind.value,
            prefix=secret.prefix,
            secret_hash=credentials.digest(secret.secret),
            scopes=scopes,
            kb_ids=kb_ids,
            allowed_origins=origins,
            created_by=parse_id(principal.subject),
        )
        async with self._engine.begin() as conn:
            await key_store.insert_key(conn, new_key)
            await record(
                conn,
                Actor.of(principal),
                "apikey.create",
                Outcome.SUCCESS,
                client,
                target_type="apikey",
                target_id=str(new_key.id),
                detail={"name": new_key.name, "kind": kind.value, "scopes": scopes},
            )
            created = await key_store.key_by_prefix(conn, secret.prefix)
        assert created is not None  # inserted in this transaction
        return created, str(secret)

    async def list_keys(self, principal: Principal) -> list[ApiKeyRecord]:
        """Every key of the caller's organisation, revoked ones included."""
        require(principal, "apikeys.manage")
        async with self._engine.connect() as conn:
            return await key_store.keys_of(conn, parse_id(principal.tenant_id))

    async def revoke(self, principal: Principal, key_id: str, client: ClientInfo) -> ApiKeyRecord:
        """Revoke a key at once (idempotent)."""
        require(principal, "apikeys.manage")
        async with self._engine.begin() as conn:
            revoked = await key_store.revoke_key(
                conn, parse_id(principal.tenant_id), parse_id(key_id, "key id")
            )
            if revoked is None:
                raise NotFound(f"no API key {key_id} in this organisation")
            await record(
                conn,
                Actor.of(principal),
                "apikey.revoke",
                Outcome.SUCCESS,
                client,
                target_type="apikey",
                target_id=key_id,
                detail={"name": revoked.name},
            )
        return revoked

    async def verify(self, presented: str, origin: str) -> Principal:
        """The principal of a valid, unrevoked key used from an origin it allows."""
        parsed = ApiKeySecret.parse(presented.strip())
        if parsed is None:
            raise Unauthenticated(KEY_REFUSED)
        async with self._engine.begin() as conn:
            key = await key_store.key_by_prefix(conn, parsed.prefix)
            if key is None or not credentials.matches(parsed.secret, key.secret_hash):
                raise Unauthenticated(KEY_REFUSED)
            if key.revoked_at is not None:
                raise Unauthenticated("API key was revoked")
            if key.kind == KeyKind.WIDGET:
                if not origin:
                    raise PermissionDenied("a widget key is only accepted from a browser origin")
                if normalise_origin_or_empty(origin) not in key.allowed_origins:
                    raise PermissionDenied(f"origin {origin} is not allowed for this widget key")
            await key_store.touch(conn, key.id)
        return principal_of(key)


def normalise_origin_or_empty(origin: str) -> str:
    """The normalised origin, or an empty string when the header is not a valid origin."""
    try:
        return normalise_origin(origin)
    except InvalidArgument:
        return ""
