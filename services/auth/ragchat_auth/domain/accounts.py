"""Accounts and sessions: register, login, refresh, logout, password change, token checks.

A session is a family of refresh tokens started by a login. Each refresh spends the presented
token and issues the next one of the family; presenting a spent token again means it was copied,
so the whole family is revoked and both the thief and the victim must log in again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ragchat_auth.domain import credentials, passwords, tokens
from ragchat_auth.domain.audit import Actor, ClientInfo, Outcome, record
from ragchat_auth.domain.errors import (
    AlreadyExists,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
)
from ragchat_auth.domain.ids import parse_id
from ragchat_auth.domain.rules import ALL_KB_ROLES, Principal, PrincipalKind, Role
from ragchat_auth.domain.signing_keys import SigningKeys
from ragchat_auth.store import directory, sessions
from ragchat_auth.store.directory import Member

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
LOGIN_FAILED = "wrong email or password"


@dataclass(frozen=True)
class TokenPolicy:
    """How long access and refresh tokens live."""

    access_ttl: timedelta
    refresh_ttl: timedelta


@dataclass(frozen=True)
class Session:
    """What a client receives after logging in or refreshing."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    principal: Principal


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased email; raises :class:`InvalidArgument` when it is not one."""
    normalised = email.strip().lower()
    if len(normalised) > 320 or not EMAIL.match(normalised):
        raise InvalidArgument(f"not an email address: {email!r}")
    return normalised


async def principal_of(conn: AsyncConnection, member: Member) -> Principal:
    """The principal of a member: their role, and the knowledge bases that role reaches."""
    all_kbs = member.role in ALL_KB_ROLES
    readable = (
        frozenset()
        if all_kbs
        else frozenset(
            str(k) for k in await directory.granted_kbs(conn, member.tenant_id, member.user_id)
        )
    )
    return Principal(
        subject=str(member.user_id),
        tenant_id=str(member.tenant_id),
        kind=PrincipalKind.USER,
        role=member.role,
        readable_kb_ids=readable,
        all_kbs=all_kbs,
        label=member.email,
    )


class Accounts:
    """Users' credentials and sessions."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: SigningKeys,
        policy: TokenPolicy,
        registration_open: bool = True,
    ) -> None:
        self._engine = engine
        self._keys = keys
        self._policy = policy
        self._registration_open = registration_open

    async def open_session(
        self, conn: AsyncConnection, member: Member, family_id: UUID | None = None
    ) -> Session:
        """Issue an access token and a refresh token (a new family unless one is given)."""
        now = datetime.now(UTC)
        ring = await self._keys.ring()
        access, access_expires = tokens.issue_access_token(
            ring,
            subject=str(member.user_id),
            tenant_id=str(member.tenant_id),
            role=member.role,
            ttl=self._policy.access_ttl,
            now=now,
        )
        refresh = credentials.new_secret()
        refresh_expires = now + self._policy.refresh_ttl
        await sessions.insert_token(
            conn,
            token_id=uuid4(),
            family_id=family_id or uuid4(),
            user_id=member.user_id,
            tenant_id=member.tenant_id,
            token_hash=credentials.digest(refresh),
            expires_at=refresh_expires,
        )
        return Session(
            access, access_expires, refresh, refresh_expires, await principal_of(conn, member)
        )

    async def create_owner(
        self,
        organisation: str,
        email: str,
        password: str,
        display_name: str,
        client: ClientInfo,
    ) -> Session:
        """Create an organisation with its first owner (used by sign-up and the first start)."""
        organisation = organisation.strip()
        if not organisation or len(organisation) > 200:
            raise InvalidArgument("organisation name must have 1 to 200 characters")
        email = normalise_email(email)
        passwords.check_policy(password)
        password_hash = await passwords.hash_password(password)
        tenant_id, user_id = uuid4(), uuid4()
        async with self._engine.begin() as conn:
            if not await directory.create_user(
                conn, user_id, email, display_name.strip(), password_hash
            ):
                raise AlreadyExists(f"an account with email {email} exists already")
            await directory.create_organisation(conn, tenant_id, organisation)
            await directory.add_membership(conn, tenant_id, user_id, Role.OWNER)
            member = await directory.membership(conn, tenant_id, user_id)
            assert member is not None  # inserted just above
            session = await self.open_session(conn, member)
            await record(
                conn,
                Actor.of(session.principal),
                "organisation.register",
                Outcome.SUCCESS,
                client,
                target_type="organisation",
                target_id=str(tenant_id),
                detail={"name": organisation},
            )
        return session

    async def register(
        self, organisation: str, email: str, password: str, display_name: str, client: ClientInfo
    ) -> Session:
        """Self-service sign-up: a new organisation owned by the new user."""
        if not self._registration_open:
            raise PermissionDenied("registration is closed; ask an administrator for an invitation")
        return await self.create_owner(organisation, email, password, display_name, client)

    async def login(self, email: str, password: str, tenant_id: str, client: ClientInfo) -> Session:
        """Check credentials and open a session in ``tenant_id`` (or the first organisation).

        Every failure gives the same message and takes as long as a password check.
        """
        normalised = email.strip().lower()
        async with self._engine.connect() as conn:
            user = await directory.user_by_email(conn, normalised)
        valid = await passwords.verify_password(user.password_hash if user else None, password)
        async with self._engine.begin() as conn:
            member = None
            if user is not None:
                member = (
                    await directory.membership(conn, parse_id(tenant_id), user.id)
                    if tenant_id
                    else await directory.first_membership(conn, user.id)
                )
            if not valid or member is None or user is None:
                known = await directory.first_membership(conn, user.id) if user else None
                actor = Actor(
                    "user" if user else "anonymous", str(user.id) if user else "", normalised[:320]
                )
                await record(
                    conn,
                    actor,
                    "login",
                    Outcome.FAILURE,
                    client,
                    tenant_id=known.tenant_id if known else None,
                    detail={"reason": "wrong password" if user else "unknown email"},
                )
                session = None
            else:
                if passwords.needs_rehash(user.password_hash):
                    await directory.set_password_hash(
                        conn, user.id, await passwords.hash_password(password), changed_at=None
                    )
                session = await self.open_session(conn, member)
                await record(conn, Actor.of(session.principal), "login", Outcome.SUCCESS, client)
        if session is None:
            raise Unauthenticated(LOGIN_FAILED)
        return session

    async def refresh(self, refresh_token: str, client: ClientInfo) -> Session:
        """Spend a refresh token for a new session pair; reuse revokes the whole family."""
        refusal = "refresh token is not valid"
        session: Session | None = None
        async with self._engine.begin() as conn:
            spent = await sessions.token_by_hash(conn, credentials.digest(refresh_token))
            if spent is not None and spent.revoked_at is not None:
                refusal = "session was revoked; log in again"
            elif spent is not None and spent.used_at is not None:
                await sessions.revoke_family(conn, spent.family_id)
                user = await directory.user_by_id(conn, spent.user_id)
                actor = Actor(
                    "user", str(spent.user_id), user.email if user else "", spent.tenant_id
                )
                await record(
                    conn,
                    actor,
                    "session.reuse_detected",
                    Outcome.DENIED,
                    client,
                    target_type="session",
                    target_id=str(spent.family_id),
                )
                refusal = "refresh token was already used; the session is revoked, log in again"
            elif spent is not None and spent.expires_at <= datetime.now(UTC):
                refusal = "refresh token has expired; log in again"
            elif spent is not None:
                member = await directory.membership(conn, spent.tenant_id, spent.user_id)
                if member is None:
                    await sessions.revoke_family(conn, spent.family_id)
                    refusal = "no longer a member of this organisation"
                else:
                    await sessions.mark_used(conn, spent.id)
                    session = await self.open_session(conn, member, spent.family_id)
        if session is None:
            raise Unauthenticated(refusal)
        return session

    async def logout(self, refresh_token: str, client: ClientInfo) -> None:
        """End the session the refresh token belongs to (unknown tokens are ignored)."""
        async with self._engine.begin() as conn:
            spent = await sessions.token_by_hash(conn, credentials.digest(refresh_token))
            if spent is None:
                return
            await sessions.revoke_family(conn, spent.family_id)
            actor = Actor("user", str(spent.user_id), "", spent.tenant_id)
            await record(
                conn,
                actor,
                "logout",
                Outcome.SUCCESS,
                client,
                target_type="session",
                target_id=str(spent.family_id),
            )

    async def change_password(
        self, principal: Principal, current: str, new: str, client: ClientInfo
    ) -> Session:
        """Replace the caller's password, end every session, and open a fresh one."""
        if principal.kind is not PrincipalKind.USER:
            raise PermissionDenied("only a user can change a password")
        passwords.check_policy(new)
        async with self._engine.connect() as conn:
            user = await directory.user_by_id(conn, parse_id(principal.subject))
        valid = user is not None and await passwords.verify_password(user.password_hash, current)
        new_hash = await passwords.hash_password(new) if valid else ""
        async with self._engine.begin() as conn:
            if not valid or user is None:
                await record(conn, Actor.of(principal), "password.change", Outcome.FAILURE, client)
                session = None
            else:
                # The auth clock, not the database's: tokens are compared with this time.
                await directory.set_password_hash(
                    conn, user.id, new_hash, changed_at=datetime.now(UTC)
                )
                revoked = await sessions.revoke_user_sessions(conn, user.id)
                member = await directory.membership(conn, parse_id(principal.tenant_id), user.id)
                if member is None:
                    raise PermissionDenied("no longer a member of this organisation")
                session = await self.open_session(conn, member)
                await record(
                    conn,
                    Actor.of(principal),
                    "password.change",
                    Outcome.SUCCESS,
                    client,
                    detail={"revoked_refresh_tokens": revoked},
                )
        if session is None:
            raise Unauthenticated("current password is wrong")
        return session

    async def verify_token(self, access_token: str) -> Principal:
        """The principal an access token stands for, with the member's current role and grants."""
        ring = await self._keys.ring()
        claims = tokens.verify_access_token(access_token, ring.verifying)
        async with self._engine.connect() as conn:
            member = await directory.membership(
                conn, parse_id(claims.tenant_id), parse_id(claims.subject)
            )
            if member is None:
                raise Unauthenticated("no longer a member of this organisation")
            changed_at = await directory.password_changed_at(conn, member.user_id)
            # A password change ends every session, including access tokens issued before it.
            if changed_at is not None and claims.issued_at < changed_at:
                raise Unauthenticated("access token predates a password change; log in again")
            return await principal_of(conn, member)
