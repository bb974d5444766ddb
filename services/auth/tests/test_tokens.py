"""Access tokens: signed, checked for expiry, tampering and key id; keys rotate; JWKS."""

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ragchat_auth.domain import tokens
from ragchat_auth.domain.errors import Unauthenticated

pytestmark = pytest.mark.unit

NOW = datetime.now(UTC)
TTL = timedelta(minutes=15)


def ring_with(*kids: str) -> tuple[tokens.KeyRing, dict[str, Ed25519PrivateKey]]:
    keys = {kid: tokens.generate_private_key() for kid in kids}
    signer = kids[-1]
    ring = tokens.KeyRing(
        signing_kid=signer,
        signing_key=keys[signer],
        verifying={kid: k.public_key() for kid, k in keys.items()},
    )
    return ring, keys


def issue(ring: tokens.KeyRing, now: datetime = NOW) -> str:
    token, _ = tokens.issue_access_token(
        ring, subject="user-1", tenant_id="tenant-1", role="editor", ttl=TTL, now=now
    )
    return token


def test_a_token_verifies_and_says_who_it_is_for() -> None:
    ring, _ = ring_with("k1")
    claims = tokens.verify_access_token(issue(ring), ring.verifying)
    assert (claims.subject, claims.tenant_id, claims.role, claims.kid) == (
        "user-1",
        "tenant-1",
        "editor",
        "k1",
    )
    assert abs(claims.issued_at - NOW) < timedelta(milliseconds=1)
    assert claims.expires_at == (NOW + TTL).replace(microsecond=0)


def test_an_expired_token_is_refused() -> None:
    ring, _ = ring_with("k1")
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify_access_token(issue(ring, NOW - TTL - timedelta(seconds=5)), ring.verifying)


def test_a_tampered_token_is_refused() -> None:
    ring, _ = ring_with("k1")
    header, payload, signature = issue(ring).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["role"] = "owner"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(Unauthenticated, match="invalid"):
        tokens.verify_access_token(f"{header}.{forged}.{signature}", ring.verifying)


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused() -> None:
    ring, _ = ring_with("k1")
    impostor, _ = ring_with("k1")
    with pytest.raises(Unauthenticated, match="invalid"):
        tokens.verify_access_token(issue(impostor), ring.verifying)


def test_an_unknown_kid_is_refused() -> None:
    ring, _ = ring_with("k1")
    other, _ = ring_with("k2")
    with pytest.raises(Unauthenticated, match="unknown or retired key"):
        tokens.verify_access_token(issue(other), ring.verifying)


def test_garbage_is_refused() -> None:
    ring, _ = ring_with("k1")
    with pytest.raises(Unauthenticated, match="malformed"):
        tokens.verify_access_token("not.a.jwt", ring.verifying)


def test_rotation_keeps_old_tokens_valid_until_the_old_key_retires() -> None:
    before, keys = ring_with("old")
    old_token = issue(before)
    new_key = tokens.generate_private_key()
    after = tokens.KeyRing(
        "new", new_key, {"old": keys["old"].public_key(), "new": new_key.public_key()}
    )
    assert tokens.verify_access_token(old_token, after.verifying).kid == "old"
    assert tokens.verify_access_token(issue(after), after.verifying).kid == "new"
    retired = {"new": new_key.public_key()}
    with pytest.raises(Unauthenticated, match="retired"):
        tokens.verify_access_token(old_token, retired)


def test_jwks_lets_a_third_party_verify_tokens() -> None:
    ring, _ = ring_with("k1", "k2")
    document = tokens.jwks(ring.verifying)
    assert [k["kid"] for k in document["keys"]] == ["k1", "k2"]
    assert all("d" not in k for k in document["keys"])  # never the private part
    jwk = jwt.PyJWKSet.from_dict(document)["k2"]
    claims = jwt.decode(issue(ring), jwk.key, algorithms=["EdDSA"], audience="ragchat")
    assert claims["sub"] == "user-1"


def test_private_keys_are_sealed_with_the_passphrase() -> None:
    key = tokens.generate_private_key()
    sealed = tokens.seal_private_key(key, "pass phrase")
    assert "ENCRYPTED" in sealed
    opened = tokens.open_private_key(sealed, "pass phrase")
    assert tokens.public_pem(opened) == tokens.public_pem(key)
    with pytest.raises(ValueError):
        tokens.open_private_key(sealed, "wrong phrase")
