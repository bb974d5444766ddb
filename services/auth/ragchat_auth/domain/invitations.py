"""Invitations: an admin invites an email with a role; the invitee accepts once, before expiry.

The token is shown once to the admin (who sends it, e.g. in a link); only its hash is stored.
Accepting creates the account, or, for an email that has one already, adds the membership after
checking that account's password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_auth.domain import credentials, passwords
from ragchat_auth.domain.accounts import Accounts, Session, normalise_email
from ragchat_auth.domain.audit import Actor, ClientInfo, Outcome, record
from ragchat_auth.domain.errors import AlreadyExists, Unauthenticated
from ragchat_auth.domain.ids import parse_id
from ragchat_auth.domain.members import check_may_assign, parse_role, require
from ragchat_auth.domain.rules import Principal
from ragchat_auth.store import directory
from ragchat_auth.store import invitations as invitation_store


@dataclass(frozen=True)
class IssuedInvitation:
    """A created invitation and its one-time token."""

    id: UUID
    email: str
    role: str
    token: str
    expires_at: datetime


class Invitations:
    """Creating and accepting invitations."""

    def __init__(self, engine: AsyncEngine, accounts: Accounts, ttl: timedelta) -> None:
        self._engine = engine
        self._accounts = accounts
        self._ttl = ttl

    async def create(
        self, principal: Principal, email: str, role: str, client: ClientInfo
    ) -> IssuedInvitation:
        """Invite ``email`` into the caller's organisation with ``role``."""
        require(principal, "users.manage")
        invited_role = parse_role(role)
        check_may_assign(principal, invited_role)
        email = normalise_email(email)
        token = credentials.new_secret()
        issued = IssuedInvitation(
            uuid4(), email, invited_role.value, token, datetime.now(UTC) + self._ttl
        )
        async with self._engine.begin() as conn:
            await invitation_store.insert_invitation(
                conn,
                invitation_id=issued.id,
                tenant_id=parse_id(principal.tenant_id),
                email=email,
                role=issued.role,
                token_hash=credentials.digest(token),
                created_by=parse_id(principal.subject),
                expires_at=issued.expires_at,
            )
            await record(
                conn,
                Actor.of(principal),
                "invitation.create",
                Outcome.SUCCESS,
                client,
                target_type="invitation",
                target_id=str(issued.id),
                detail={"email": email, "role": issued.role},
            )
        return issued

    async def accept(
        self, token: str, password: str, display_name: str, client: ClientInfo
    ) -> Session:
        """Join the organisation of the invitation and open a session there."""
        async with self._engine.connect() as conn:
            found = await invitation_store.invitation_by_hash(conn, credentials.digest(token))
            existing = await directory.user_by_email(conn, found.email) if found else None
        if found is None:
            raise Unauthenticated("invitation is not valid")
        if found.accepted_at is not None:
            raise Unauthenticated("invitation was already accepted")
        if found.expires_at <= datetime.now(UTC):
            raise Unauthenticated("invitation has expired")
        if existing is not None:
            if not await passwords.verify_password(existing.password_hash, password):
                raise Unauthenticated("an account with this email exists; give its password")
            password_hash = existing.password_hash
        else:
            passwords.check_policy(password)
            password_hash = await passwords.hash_password(password)
        async with self._engine.begin() as conn:
            # Locked and read again: two acceptances of one token race here, one wins.
            invitation = await invitation_store.invitation_by_hash(conn, credentials.digest(token))
            if invitation is None or invitation.accepted_at is not None:
                raise Unauthenticated("invitation was already accepted")
            user_id = existing.id if existing else uuid4()
            if existing is None and not await directory.create_user(
                conn, user_id, invitation.email, display_name.strip(), password_hash
            ):
                raise AlreadyExists(f"an account with email {invitation.email} was just created")
            if not await directory.add_membership(
                conn, invitation.tenant_id, user_id, invitation.role
            ):
                raise AlreadyExists("already a member of this organisation")
            await invitation_store.mark_accepted(conn, invitation.id, user_id)
            member = await directory.membership(conn, invitation.tenant_id, user_id)
            assert member is not None  # added just above
            session = await self._accounts.open_session(conn, member)
            await record(
                conn,
                Actor.of(session.principal),
                "invitation.accept",
                Outcome.SUCCESS,
                client,
                target_type="invitation",
                target_id=str(invitation.id),
                detail={"role": invitation.role},
            )
        return session
