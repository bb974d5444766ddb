"""First start: the signing key and, when no organisation exists, the first owner account."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ragchat_common.logs import get_logger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ragchat_auth.domain.accounts import Accounts
from ragchat_auth.domain.audit import ClientInfo
from ragchat_auth.store import directory

log = get_logger(__name__)

PASSWORD_FILE = "owner-password"


@dataclass(frozen=True)
class FirstOwner:
    """Who the first owner is; ``password`` is ``None`` to generate one."""

    organisation: str
    email: str
    password: str | None
    # Folder where a generated password is written for ``make up`` to print.
    local_dir: Path | None


def write_secret_file(path: Path, content: str) -> None:
    """Write ``content`` readable by the owner of the process only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(content + "\n")


async def create_first_owner(engine: AsyncEngine, accounts: Accounts, owner: FirstOwner) -> bool:
    """Create the first organisation and its owner unless an organisation exists.

    Replicas starting together take an advisory lock, so exactly one creates it. Returns whether
    this call created it.
    """
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('auth.bootstrap'))"))
        if await directory.organisation_count(conn) > 0:
            return False
        password = owner.password or secrets.token_urlsafe(15)
        # Created while the lock is held; the account's own transaction commits first.
        await accounts.create_owner(
            owner.organisation, owner.email, password, "Owner", ClientInfo(user_agent="bootstrap")
        )
    if owner.password is None:
        where = None
        if owner.local_dir is not None:
            where = owner.local_dir / "secrets" / PASSWORD_FILE
            write_secret_file(where, password)
        log.warning(
            "first owner created with a generated password: log in and change it",
            email=owner.email,
            password=password,
            password_file=str(where) if where else None,
        )
    else:
        log.info("first owner created", email=owner.email)
    return True
