"""Tables of the auth service (schema ``auth``).

- ``organisations``: tenants. Every other row that belongs to a tenant carries its id.
- ``users``: people, with a globally unique (lower-cased) email and an argon2 password hash.
- ``memberships``: a user's role in an organisation (owner, admin, editor, agent, viewer).
- ``kb_grants``: which knowledge bases a member whose role does not see every one may use.
- ``invitations``: an email invited into an organisation with a role; token stored hashed.
- ``refresh_tokens``: one row per issued refresh token, stored hashed; a login starts a family,
  each refresh spends one token and issues the next in the same family.
- ``api_keys``: scoped keys for scripts and widgets; only a hash of the secret is kept.
- ``signing_keys``: the asymmetric keys that sign access tokens; the private half encrypted.
- ``audit_log``: security-relevant actions, append-only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ragchat_auth.store import SCHEMA

metadata = MetaData(schema=SCHEMA)


def _created_at() -> Column:  # type: ignore[type-arg]
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


organisations = Table(
    "organisations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    _created_at(),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False, server_default=""),
    Column("password_hash", Text, nullable=False),
    Column(
        "password_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    ),
    _created_at(),
)

memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(20), nullable=False),
    _created_at(),
    Index("ix_memberships_user_id", "user_id"),
)

kb_grants = Table(
    "kb_grants",
    metadata,
    Column("tenant_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("kb_id", Uuid, primary_key=True),
    Column("granted_by", Uuid, nullable=True),
    _created_at(),
    Index("ix_kb_grants_kb_id", "tenant_id", "kb_id"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", Uuid, nullable=False),
    _created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("accepted_by", Uuid, nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("family_id", Uuid, nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_refresh_tokens_family_id", "family_id"),
    Index("ix_refresh_tokens_user_id", "user_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", ARRAY(String(20)), nullable=False),
    Column("kb_ids", ARRAY(Uuid), nullable=False),
    Column("allowed_origins", ARRAY(Text), nullable=False),
    Column("created_by", Uuid, nullable=False),
    _created_at(),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_api_keys_tenant_id", "tenant_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),
    Column("public_pem", Text, nullable=False),
    Column("private_pem", Text, nullable=False),
    _created_at(),
    # Set when a newer key takes over signing; the key still verifies until ``retire_at``.
    Column("retire_at", DateTime(timezone=True), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("tenant_id", Uuid, nullable=True),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_label", String(320), nullable=False, server_default=""),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False, server_default=""),
    Column("target_id", String(64), nullable=False, server_default=""),
    Column("outcome", String(20), nullable=False),
    Column("ip", String(64), nullable=False, server_default=""),
    Column("user_agent", Text, nullable=False, server_default=""),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)
