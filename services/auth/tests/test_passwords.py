"""Passwords are hashed with argon2id, verified, and held to a length policy."""

import pytest
from ragchat_auth.domain import passwords
from ragchat_auth.domain.errors import InvalidArgument

pytestmark = pytest.mark.unit


async def test_hash_verifies_only_its_password() -> None:
    stored = await passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert await passwords.verify_password(stored, "correct horse battery")
    assert not await passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.needs_rehash(stored)


async def test_same_password_gets_a_different_salt() -> None:
    first = await passwords.hash_password("correct horse battery")
    assert first != await passwords.hash_password("correct horse battery")


async def test_unknown_account_never_verifies() -> None:
    assert not await passwords.verify_password(None, "anything at all")
    assert not await passwords.verify_password("not a hash", "anything at all")


@pytest.mark.parametrize("password", ["short", "x" * 257])
def test_policy_refuses_too_short_and_too_long(password: str) -> None:
    with pytest.raises(InvalidArgument):
        passwords.check_policy(password)
