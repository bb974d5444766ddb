"""Opaque secrets: API key format and hashed comparison."""

import pytest
from ragchat_auth.domain.credentials import ApiKeySecret, digest, matches

pytestmark = pytest.mark.unit


def test_api_key_round_trips_through_its_text_form() -> None:
    key = ApiKeySecret.generate()
    text = str(key)
    assert text.startswith(f"rck_{key.prefix}_")
    assert ApiKeySecret.parse(text) == key


@pytest.mark.parametrize("text", ["", "rck_", "rck_abc", "xyz_abc_def", "rck__secret"])
def test_malformed_keys_do_not_parse(text: str) -> None:
    assert ApiKeySecret.parse(text) is None


def test_only_the_digest_is_compared() -> None:
    stored = digest("s3cret")
    assert stored != "s3cret"
    assert matches("s3cret", stored)
    assert not matches("s3cret!", stored)
