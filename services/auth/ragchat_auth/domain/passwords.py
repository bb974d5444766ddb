"""Password policy and hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ragchat_auth.domain.errors import InvalidArgument

MIN_LENGTH = 10
# Hashing cost grows with the input; a cap stops a megabyte "password" from tying up a core.
MAX_LENGTH = 256

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a failed login costs the same either way and
# its timing does not tell whether an account exists.
_DUMMY_HASH = _hasher.hash("not a real password, only spends the time of a real check")


def check_policy(password: str) -> None:
    """Refuse passwords too short to resist guessing or too long to hash cheaply."""
    if len(password) < MIN_LENGTH:
        raise InvalidArgument(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidArgument(f"password must have at most {MAX_LENGTH} characters")


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (computed in a thread: it takes tens of milliseconds)."""
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        _hasher.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; ``None`` (no such user) is always false
    but takes as long as a real check."""
    return await asyncio.to_thread(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(stored_hash)
